import BookingCore
import RunObservation

/// One cell of the variant x fault-profile matrix: what its seeds showed.
public struct MatrixCell: Sendable {
    public var variant: Variant
    public var profile: FaultProfile
    public var batch: BatchSummary

    public init(variant: Variant, profile: FaultProfile, batch: BatchSummary) {
        self.variant = variant
        self.profile = profile
        self.batch = batch
    }
}

/// The matrix as the terminal shows it: one row per variant, one column per profile.
public enum MatrixText {
    public static func abbreviation(_ invariant: Invariant) -> String {
        switch invariant {
        case .capacity: "capacity"
        case .noDuplicateBooking: "duplicate"
        case .inventoryConsistent: "consistency"
        case .everyRequestAnswered: "unanswered"
        case .noLockLeftHeld: "lock-left"
        case .latencyP95: "p95"
        case .latencyMean: "mean"
        case .runCompleted: "harness"
        case .linearizable: "history"
        }
    }

    public static func render(_ cells: [MatrixCell], variants: [Variant], profiles: [FaultProfile],
                              replayCommand: (MatrixCell, UInt64) -> String) -> String {
        let safety = safetyInvariants
        func text(_ cell: MatrixCell) -> String {
            let broken = cell.batch.failures.keys.filter { safety.contains($0) }.sorted()
            let slow = cell.batch.failures.keys.contains { !safety.contains($0) }
            if broken.isEmpty { return slow ? "ok (SLO missed)" : "ok" }
            return "FAIL " + broken.map { "\(Self.abbreviation($0))@\(cell.batch.failures[$0]!.firstSeed)" }.joined(separator: " ")
        }
        let variantWidth = max(8, variants.map(\.rawValue.count).max() ?? 8) + 2
        let columnWidths = profiles.map { profile in
            max(profile.name.count, cells.filter { $0.profile == profile }.map { text($0).count }.max() ?? 0) + 2
        }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        var output = "\n" + pad("variant", variantWidth) + zip(profiles, columnWidths).map { pad($0.name, $1) }.joined() + "\n"
        output += String(repeating: "-", count: variantWidth + columnWidths.reduce(0, +)) + "\n"
        for variant in variants {
            output += pad(variant.rawValue, variantWidth)
            for (profile, width) in zip(profiles, columnWidths) {
                output += pad(text(cells.first { $0.variant == variant && $0.profile == profile }!), width)
            }
            output += "\n"
        }
        output += "\nEach cell: \(cells.first?.batch.runs ?? 0) seeds. FAIL lists the safety invariants broken, each with its first counterexample seed;\n"
        output += "'SLO missed' means only the latency objective failed (faults make requests slow).\n"
        output += "capacity = bookings per room-night <= capacity; duplicate = one booking per request; consistency = inventory matches bookings;\n"
        output += "unanswered = a request neither answered nor timed out; lock-left = a live holder never released its lock.\n"
        let failing = cells.filter { cell in cell.batch.failures.keys.contains { safety.contains($0) } }
        if !failing.isEmpty {
            output += "\nCounterexamples (replay):\n"
            for cell in failing {
                for (invariant, failure) in cell.batch.failures.sorted(by: { $0.key < $1.key }) where safety.contains(invariant) {
                    output += "  \(cell.variant.rawValue) x \(cell.profile.name), \(invariant.rawValue) in \(failure.count) seeds:\n"
                    output += "    \(replayCommand(cell, failure.firstSeed))\n"
                }
            }
        }
        return output
    }
}

extension MatrixCell {
    /// `base` as a cell of `variant` under `profile` runs `seed`.
    public static func scenario(_ base: Scenario, variant: Variant, profile: FaultProfile, seed: UInt64) -> Scenario {
        var scenario = base
        scenario.variant = variant
        return profile.apply(to: scenario, seed: seed)
    }

    /// Every cell of `variants` x `profiles`, row by row, each a sweep of `seeds` on `jobs`
    /// workers run by `sweep` (where the caller shows progress; `label` names the cell).
    public static func sweepAll(_ base: Scenario, variants: [Variant], profiles: [FaultProfile], seeds: ClosedRange<UInt64>, jobs: Int,
                                sweep: (ParallelSweep, _ label: String) -> ParallelSweep.Outcome) -> [MatrixCell] {
        variants.flatMap { variant in
            profiles.map { profile in
                let cellSweep = ParallelSweep(seeds: seeds, jobs: jobs, stopOn: []) { seed in
                    Verdicts.simulate(scenario(base, variant: variant, profile: profile, seed: seed), seed: seed)
                }
                return MatrixCell(variant: variant, profile: profile, batch: sweep(cellSweep, "\(variant.rawValue) x \(profile.name)").batch)
            }
        }
    }
}

extension FaultProfile {
    /// The profiles a comma-separated list names (nil: all of them, in their order).
    public static func named(list: String?) throws(UnknownFaultProfile) -> [FaultProfile] {
        try (list?.split(separator: ",").map(String.init) ?? all.map(\.name)).map { name throws(UnknownFaultProfile) in
            guard let profile = named(name) else { throw UnknownFaultProfile(name: name) }
            return profile
        }
    }
}

/// A fault profile name that is not one of `FaultProfile.all`.
public struct UnknownFaultProfile: Error, Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public var description: String { "unknown profile '\(name)'; use one of: \(FaultProfile.all.map(\.name).joined(separator: ", "))" }
}
