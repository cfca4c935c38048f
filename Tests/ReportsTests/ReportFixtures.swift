import BookingCore
import Checking
import Foundation
import Simulation
import Testing
@testable import Reports

/// Real simulated runs to render, shared by the tests (each computed once).
enum Fixtures {
    static let context = ReportContext(commandLine: "overbook replay scenarios/seed-experiment.yaml --seed 3",
                                       scenarioPath: "scenarios/seed-experiment.yaml", gitCommit: "abc1234",
                                       toolchain: "Swift 6.3.1 (test)", generatedAt: "2026-01-01T00:00:00Z")

    /// `overbook replay scenarios/seed-experiment.yaml --seed 3`.
    static let replay: RunVerdict = Verdicts.simulate(.seedExperiment(), seed: 3, options: SimulationOptions(traceMode: .record))

    /// `overbook run scenarios/seed-experiment.yaml --seed 3` (no trace recorded).
    static let run: RunVerdict = Verdicts.simulate(.seedExperiment(), seed: 3)

    static let batchSeeds: ClosedRange<UInt64> = 1...6
    static let batch: BatchSummary = {
        var batch = BatchSummary()
        for seed in batchSeeds { batch.add(Verdicts.simulate(.seedExperiment(), seed: seed)) }
        return batch
    }()

    /// Two users, one room of capacity 1, stays 2026-03-15..17 and 2026-03-16..18: the seed locks
    /// only each stay's check-in night, so the two requests take different locks.
    static func overlappingStays() -> Scenario {
        let first = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!
        let second = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-16")!, checkOut: Night(iso: "2026-03-18")!)!
        return Scenario(name: "overlapping-stays-2", summary: "two users, overlapping stays of the one Standard Single",
                        rooms: RoomSpec.seedRooms, users: [UserGroup(count: 1, stay: first, arrival: .at(.zero)),
                                                           UserGroup(count: 1, stay: second, arrival: .at(.zero))])
    }

    /// The first seed in 1...50 whose run double-books, replayed with its trace.
    static let doubleBooking: RunVerdict? = {
        let scenario = overlappingStays()
        for seed in UInt64(1)...50 {
            let verdict = Verdicts.simulate(scenario, seed: seed)
            if verdict.violatedInvariants.contains(.capacity) {
                return Verdicts.simulate(scenario, seed: seed, options: SimulationOptions(traceMode: .record))
            }
        }
        return nil
    }()

    static func context(for verdict: RunVerdict, path: String) -> ReportContext {
        var context = Self.context
        context.scenarioPath = path
        context.commandLine = "overbook replay \(path) --seed \(verdict.seed)"
        return context
    }
}

/// Minimal structure checks on rendered HTML.
extension String {
    func count(of needle: String) -> Int { components(separatedBy: needle).count - 1 }

    /// The text between `<section>` whose `<h2>` is `heading` and the next `</section>`.
    func section(_ heading: String) -> String? {
        guard let start = range(of: "<h2>\(heading)</h2>") else { return nil }
        let end = range(of: "</section>", range: start.upperBound..<endIndex)?.lowerBound ?? endIndex
        return String(self[start.upperBound..<end])
    }
}

/// `#expect(text.contains(needle))` without printing the whole page when it fails.
func expectContains(_ text: String, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = text.contains(needle)
    #expect(found, "missing: \(needle)", sourceLocation: sourceLocation)
}

func expectLacks(_ text: String, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = text.contains(needle)
    #expect(!found, "unexpected: \(needle)", sourceLocation: sourceLocation)
}
