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
