import Foundation
import RunObservation

extension ParallelSweep.Outcome {
    /// What `overbook sweep` prints after the summary: its throughput with `jobs` workers, then,
    /// when a seed failed, the first failing seed and per invariant its count, first seed, when a
    /// worker found it and `replay(seed)`, the command that replays that seed.
    public func sweepText(firstSeed: UInt64, jobs: Int, replay: (UInt64) -> String) -> String {
        let throughput = String(format: "Throughput: %d seeds in %.2f s = %.0f seeds/s with %d job(s)",
                                batch.runs, elapsed, Double(batch.runs) / elapsed, jobs)
        let failures = SweepMergeText.failures(batch, firstSeed: firstSeed, replay: replay, found: firstFound)
        return failures.isEmpty ? throughput : throughput + "\n" + failures
    }
}

public enum SweepMergeText {
    /// The failures by invariant, each with its first seed and replay command (and, from a
    /// sweep that ran here, how long until a worker found it); empty when every seed passed.
    public static func failures(_ batch: BatchSummary, firstSeed: UInt64, replay: (UInt64) -> String,
                                found: [Invariant: Double]? = nil) -> String {
        guard let first = batch.firstFailingSeed else { return "" }
        var lines = ["First failing seed: \(first), \(first - firstSeed + 1) seeds into the range"]
        lines.append("\nFailures by invariant (first seed\(found == nil ? "" : ", wall time until a worker found it"), replay):")
        for invariant in Invariant.allCases {
            guard let failure = batch.failures[invariant] else { continue }
            let when = found.map { found in ", " + (found[invariant].map { String(format: "found after %.2f s", $0) } ?? "") } ?? ""
            lines.append("  \(invariant.rawValue): \(failure.count) seeds; first seed \(failure.firstSeed) "
                         + "(\(failure.firstSeed - firstSeed + 1) seeds in)\(when)")
            lines.append("    \(replay(failure.firstSeed))")
        }
        return lines.joined(separator: "\n")
    }
}

extension BatchSummary {
    /// The first safety invariant (in declaration order) that some run broke, with its first
    /// failing seed: what a sweep shrinks.
    public var firstSafetyFailure: (invariant: Invariant, seed: UInt64)? {
        Invariant.allCases.first { safetyInvariants.contains($0) && failures[$0] != nil }
            .flatMap { invariant in failures[invariant].map { (invariant, $0.firstSeed) } }
    }
}
