import BookingCore
import Checking
import Foundation
import RunObservation
import Simulation

/// The replay reports a batch or matrix report links to: one per first failing seed, with its
/// timeline, written beside the report.
public enum FailureReplays {
    /// For each of `invariants` that failed in `batch`, the replay report of its first failing
    /// seed, written once per seed to `path(seed)`: `scenario(seed)` is the scenario as that seed
    /// ran, `context(seed)` the report's context. Returns each invariant's report file name and,
    /// for reports that could not be written, why.
    public static func write(for batch: BatchSummary, invariants: [Invariant], scenario: (UInt64) -> Scenario,
                             path: (UInt64) -> String, context: (UInt64) -> ReportContext)
        -> (files: [Invariant: String], problems: [String]) {
        var files: [Invariant: String] = [:]
        var written: [UInt64: String] = [:]
        var problems: [String] = []
        for invariant in invariants {
            guard let seed = batch.failures[invariant]?.firstSeed else { continue }
            if let existing = written[seed] {
                files[invariant] = existing
                continue
            }
            let verdict = Verdicts.simulate(scenario(seed), seed: seed, options: SimulationOptions(traceMode: .record))
            let replayPath = path(seed)
            do {
                try ReportWriter.write(html: RunReport.html(verdict: verdict, context: context(seed)), to: replayPath)
                let name = URL(fileURLWithPath: replayPath).lastPathComponent
                files[invariant] = name
                written[seed] = name
            } catch {
                problems.append("could not write \(replayPath): \(error.localizedDescription)")
            }
        }
        return (files, problems)
    }
}

extension ReportContext {
    /// The context of a replay report written beside this one: the same command line and
    /// scenario, the command that replays its seed, no wall time of its own.
    func replaying(_ command: String) -> ReportContext {
        var context = self
        context.replayCommand = command
        context.wallSeconds = nil
        return context
    }
}

extension BatchReport {
    /// The batch report to be written to `path`, after writing beside it a replay report
    /// (timeline included) for the first failing seed of each invariant. `scenarioForSeed`: the
    /// scenario as a seed ran; `replayCommand`: the command that replays a seed. Returns the page
    /// and, for replay reports that could not be written, why.
    public static func html(batch: BatchSummary, scenario: Scenario, firstSeed: UInt64, context: ReportContext, replaysBeside path: String,
                            scenarioForSeed: (UInt64) -> Scenario, replayCommand: (UInt64) -> String) -> (html: String, problems: [String]) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let (replays, problems) = FailureReplays.write(
            for: batch, invariants: Invariant.allCases, scenario: scenarioForSeed,
            path: { ReportPaths.replay(scenario: scenario.name, seed: $0, directory: directory) },
            context: { context.replaying(replayCommand($0)) })
        return (html(batch: batch, scenario: scenario, firstSeed: firstSeed, context: context, failingReplays: replays), problems)
    }
}

extension MatrixReport {
    /// The matrix report to be written to `path`, after writing beside it a replay report
    /// (timeline included) per failing cell and safety invariant. `replayCommand`: the command
    /// that replays a cell's seed.
    public static func html(cells: [MatrixCell], scenario: Scenario, variants: [Variant], profiles: [FaultProfile], seeds: ClosedRange<UInt64>,
                            context: ReportContext, replaysBeside path: String, replayCommand: (MatrixCell, UInt64) -> String) -> String {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let reportCells = cells.map { cell in
            // A replay report that cannot be written is left out of the matrix: its cell still
            // prints the command.
            let (replays, _) = FailureReplays.write(
                for: cell.batch, invariants: safety, scenario: { MatrixCell.scenario(scenario, variant: cell.variant, profile: cell.profile, seed: $0) },
                path: { ReportPaths.matrixReplay(scenario: scenario.name, variant: cell.variant.rawValue, profile: cell.profile.name, seed: $0, directory: directory) },
                context: { context.replaying(replayCommand(cell, $0)) })
            let commands = cell.batch.failures.filter { safety.contains($0.key) }.mapValues { replayCommand(cell, $0.firstSeed) }
            return Cell(variant: cell.variant, profile: cell.profile.name, batch: cell.batch, replays: replays, commands: commands)
        }
        return html(cells: reportCells, variants: variants, profiles: profiles.map { ($0.name, $0.summary) }, scenario: scenario,
                    seeds: seeds, context: context)
    }
}

extension ReportPaths {
    /// `reports/matrix-matrix-seeds-1-100.html`.
    public static func matrix(scenario: String, seeds: ClosedRange<UInt64>, directory: String = directory) -> String {
        "\(directory)/matrix-\(slug(scenario))-seeds-\(seeds.lowerBound)-\(seeds.upperBound).html"
    }

    /// A matrix cell's replay report: `reports/replay-matrix-seed-crashes-seed-7.html`.
    public static func matrixReplay(scenario: String, variant: String, profile: String, seed: UInt64, directory: String = directory) -> String {
        "\(directory)/replay-\(slug(scenario))-\(slug(variant))-\(profile)-seed-\(seed).html"
    }
}
