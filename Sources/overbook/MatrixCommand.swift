import ArgumentParser
import BookingCore
import Checking
import Foundation
import Reports
import Simulation

struct MatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Every variant under every fault profile: which invariants held.",
        discussion: """
        Runs --seeds seeds per cell (variant x fault profile) on the matrix workload and prints \
        a table; each failing cell names its invariants and first counterexample seed, with the \
        command that replays it. The same seeds give the same table.

        Profiles: \(FaultProfile.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).

        Examples:
          overbook matrix
          overbook matrix --seeds 500 --jobs 2
          overbook matrix --scenario scenarios/overlapping-stays.yaml --profiles none,crashes
        """
    )

    @Option(help: "The workload every cell runs.")
    var scenario = "scenarios/matrix.yaml"

    @Option(help: "Seeds per cell, starting at --first-seed.")
    var seeds: Int = 100

    @Option(help: "The first seed of every cell.")
    var firstSeed: UInt64 = 1

    @Option(help: "Comma-separated fault profiles (default: all).")
    var profiles: String?

    @Option(help: "Comma-separated variants (default: \(VariantOption.registry.variants.map(\.rawValue).joined(separator: ", "))).")
    var variants: String?

    @Option(help: "Worker threads.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var reportOptions: ReportOptions

    struct Cell {
        var variant: Variant
        var profile: FaultProfile
        var batch: BatchSummary
    }

    func run() throws {
        let base = try loadScenario(scenario)
        let profiles = try (self.profiles?.split(separator: ",").map(String.init) ?? FaultProfile.all.map(\.name)).map { name in
            guard let profile = FaultProfile.named(name) else {
                throw ValidationError("unknown profile '\(name)'; use one of: \(FaultProfile.all.map(\.name).joined(separator: ", "))")
            }
            return profile
        }
        let variants = try self.variants?.split(separator: ",").map { try VariantOption.parse(String($0), option: "--variants") }
            ?? VariantOption.registry.variants
        let seedRange = firstSeed...(firstSeed + UInt64(max(1, seeds)) - 1)
        print("overbook matrix: scenario=\(scenario) seeds=\(seedRange.lowerBound)..\(seedRange.upperBound) "
              + "variants=\(variants.map(\.rawValue).joined(separator: ",")) profiles=\(profiles.map(\.name).joined(separator: ",")) jobs=\(jobs)")
        var cells: [Cell] = []
        for variant in variants {
            for profile in profiles {
                var scenario = base
                scenario.variant = variant
                let cellScenario = scenario
                let sweep = ParallelSweep(seeds: seedRange, jobs: jobs, stopOn: [], label: "\(variant.rawValue) x \(profile.name)") { seed in
                    Verdicts.simulate(profile.apply(to: cellScenario, seed: seed), seed: seed)
                }
                cells.append(Cell(variant: variant, profile: profile, batch: sweep.run().batch))
            }
        }
        print(render(cells, variants: variants, profiles: profiles))
        writeReport(cells, base: base, variants: variants, profiles: profiles, seeds: seedRange)
        if cells.contains(where: { $0.batch.failedRuns > 0 }) { throw ExitCode(1) }
    }

    func replayCommand(_ cell: Cell, seed: UInt64) -> String {
        "overbook replay \(scenario) --variant \(cell.variant.rawValue) --profile \(cell.profile.name) --seed \(seed)"
    }

    /// The HTML matrix, with a replay report (timeline included) per counterexample.
    func writeReport(_ cells: [Cell], base: Scenario, variants: [Variant], profiles: [FaultProfile], seeds: ClosedRange<UInt64>) {
        guard !reportOptions.noReport else { return }
        let path = reportOptions.report ?? "\(ReportPaths.directory)/matrix-\(ReportPaths.slug(base.name))-seeds-\(seeds.lowerBound)-\(seeds.upperBound).html"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var reportCells: [MatrixReport.Cell] = []
        for cell in cells {
            var replays: [Invariant: String] = [:]
            var commands: [Invariant: String] = [:]
            for invariant in MatrixReport.safety {
                guard let failure = cell.batch.failures[invariant] else { continue }
                let command = replayCommand(cell, seed: failure.firstSeed)
                commands[invariant] = command
                var variantScenario = base
                variantScenario.variant = cell.variant
                let verdict = Verdicts.simulate(cell.profile.apply(to: variantScenario, seed: failure.firstSeed), seed: failure.firstSeed,
                                                options: SimulationOptions(traceMode: .record))
                let replayPath = "\(directory)/replay-\(ReportPaths.slug(base.name))-\(ReportPaths.slug(cell.variant.rawValue))-\(cell.profile.name)-seed-\(failure.firstSeed).html"
                let html = RunReport.html(verdict: verdict, context: Reporting.context(scenarioPath: scenario, replayCommand: command))
                if (try? ReportWriter.write(html: html, to: replayPath)) != nil {
                    replays[invariant] = URL(fileURLWithPath: replayPath).lastPathComponent
                }
            }
            reportCells.append(MatrixReport.Cell(variant: cell.variant, profile: cell.profile.name, batch: cell.batch, replays: replays, commands: commands))
        }
        let html = MatrixReport.html(cells: reportCells, variants: variants, profiles: profiles.map { ($0.name, $0.summary) },
                                     scenario: base, seeds: seeds, context: Reporting.context(scenarioPath: scenario, replayCommand: nil))
        Reporting.publish(html, to: path)
    }

    static func abbreviation(_ invariant: Invariant) -> String {
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

    func render(_ cells: [Cell], variants: [Variant], profiles: [FaultProfile]) -> String {
        let safety = safetyInvariants
        func text(_ cell: Cell) -> String {
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
                    output += "    overbook replay \(scenario) --variant \(cell.variant.rawValue) --profile \(cell.profile.name) --seed \(failure.firstSeed)\n"
                }
            }
        }
        return output
    }
}
