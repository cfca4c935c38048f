import BookingCore
import Checking
import Foundation
import RunObservation

/// What `overbook sweep` was asked for besides the scenario: the seeds (all of `--seeds`, of
/// which a shard runs its slice), the workers, where to stop, the files to write, and how to
/// shrink the first safety failure (`nil`: not at all).
public struct SweepRequest: Sendable {
    public var seeds: ClosedRange<UInt64>
    public var shard: SweepShard?
    public var jobs: Int
    public var stopOn: Set<Invariant>
    public var outputPath: String?
    public var junitPath: String?
    /// The build the `--output` record says it came from (`BuildIdentity.current`).
    public var build: String
    public var shrink: (counterexamples: Counterexamples, budget: Double)?

    public init(seeds: ClosedRange<UInt64>, shard: SweepShard?, jobs: Int, stopOn: Set<Invariant>, outputPath: String?, junitPath: String?,
                build: String, shrink: (counterexamples: Counterexamples, budget: Double)?) {
        self.seeds = seeds
        self.shard = shard
        self.jobs = jobs
        self.stopOn = stopOn
        self.outputPath = outputPath
        self.junitPath = junitPath
        self.build = build
        self.shrink = shrink
    }

    /// The invocation line's fields for `slice`, the seeds this process runs: the seeds, jobs,
    /// the invariants it stops on and, for a shard, which shard of which range.
    public func invocationFields(slice: ClosedRange<UInt64>) -> [String] {
        ["seeds=\(slice.lowerBound)..\(slice.upperBound)", "jobs=\(jobs)", "stop_on=\(stopOn.sorted().map(\.rawValue).joined(separator: ","))"]
            + (shard.map { ["shard=\($0) of \(seeds.lowerBound)..\(seeds.upperBound)"] } ?? [])
    }
}

extension SimulatedRuns {
    /// `overbook sweep` of `slice`, the seeds of `request` this process runs (`nil`: its shard
    /// gets none): the `--output` record, the JUnit file, the summary, the report, the failures,
    /// and the first safety failure shrunk. Returns whether every seed passed. A file that
    /// cannot be written is an `OutputFileError`; shrinking throws as `Counterexamples` does.
    public func sweep(_ request: SweepRequest, slice: ClosedRange<UInt64>?) throws -> Bool {
        guard let seeds = slice else {
            output.line("shard \(request.shard!): no seed of \(request.seeds.lowerBound)..\(request.seeds.upperBound) falls to it (more shards than seeds)")
            try write(request, BatchSummary(), ran: nil, stoppedEarly: false, elapsed: 0)
            return true
        }
        let outcome = sweep(seeds, jobs: request.jobs, stopOn: request.stopOn, label: request.shard.map { "shard \($0)" } ?? "sweep")
        let batch = outcome.batch
        try write(request, batch, ran: seeds, stoppedEarly: batch.runs < seeds.count, elapsed: outcome.elapsed)
        if let junit = request.junitPath {
            try SweepRecordFile.writeJUnit(JUnitReport.sweep(batch, suite: selection.suiteName(base) + (request.shard.map { " shard \($0)" } ?? ""), seeds: seeds,
                                                             elapsedSeconds: outcome.elapsed, replay: replay.seed), to: junit, emit: output.line)
        }
        summarize(batch, firstSeed: seeds.lowerBound, wallSeconds: outcome.elapsed)
        output.line(outcome.sweepText(firstSeed: seeds.lowerBound, jobs: request.jobs, replay: replay.seed))
        guard batch.firstFailingSeed != nil else { return true }
        try shrinkFirstSafetyFailure(of: batch, request.shrink)
        return false
    }

    /// The first seed of `batch` that broke a safety invariant, shrunk to a schedule (with its
    /// report) as `shrink` says; nothing when `shrink` is `nil` or no safety invariant broke.
    func shrinkFirstSafetyFailure(of batch: BatchSummary, _ shrink: (counterexamples: Counterexamples, budget: Double)?) throws {
        guard let shrink, let (invariant, seed) = batch.firstSafetyFailure else { return }
        output.line("\nShrinking seed \(seed) (\(invariant.rawValue)); --no-shrink skips this")
        try shrink.counterexamples.shrink(scenario(seed: seed), seed: seed, invariant: invariant,
                                          source: selection.schedule(seed: seed, variant: base.variant), choices: nil, budget: shrink.budget)
    }

    /// `--output`: the record `overbook merge` reads.
    func write(_ request: SweepRequest, _ batch: BatchSummary, ran: ClosedRange<UInt64>?, stoppedEarly: Bool, elapsed: Double) throws {
        guard let path = request.outputPath else { return }
        let record = SweepRecord(build: request.build, scenarioPath: replay.scenarioPath,
                                 scenarioText: try String(contentsOfFile: replay.scenarioPath, encoding: .utf8), options: selection.recorded,
                                 seeds: request.seeds, shard: request.shard, ran: ran, stoppedEarly: stoppedEarly, summary: batch, elapsedSeconds: elapsed)
        do {
            try SweepRecordFile.write(record, to: path)
        } catch {
            throw OutputFileError(description: "cannot write --output \(path): \(error.localizedDescription)")
        }
        output.line("sweep result: \(path)")
    }

    /// `overbook merge`: what one sweep over the range of `merged` (folded from `files` shard
    /// files) prints and writes, the merged record to `outputPath` and the JUnit file
    /// `junitPath`, and the first safety failure shrunk as `sweep` shrinks it (`shrink`).
    /// Returns whether every seed passed.
    public func merged(_ merged: SweepRecord, files: Int, outputPath: String?, junitPath: String?,
                       shrink: (counterexamples: Counterexamples, budget: Double)? = nil) throws -> Bool {
        let seeds = merged.seeds.range
        let batch = merged.summary
        output.line("overbook merge: \(files) shard file(s) of \(merged.scenarioPath) seeds \(seeds.lowerBound)..\(seeds.upperBound)"
                    + (merged.options.isEmpty ? "" : " (\(merged.options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))")
                    + (merged.stoppedEarly ? "; some shards stopped at a failing seed" : ""))
        summarize(batch, firstSeed: seeds.lowerBound, wallSeconds: merged.elapsedSeconds)
        output.line(SweepMergeText.failures(batch, firstSeed: seeds.lowerBound, replay: replay.seed))
        if let outputPath { try SweepRecordFile.write(merged, to: outputPath) }
        if let junitPath {
            try SweepRecordFile.writeJUnit(JUnitReport.sweep(batch, suite: selection.suiteName(base), seeds: seeds, elapsedSeconds: merged.elapsedSeconds, replay: replay.seed),
                                           to: junitPath, emit: output.line)
        }
        guard batch.firstFailingSeed != nil else { return true }
        try shrinkFirstSafetyFailure(of: batch, shrink)
        return false
    }
}

extension MatrixCell {
    /// `overbook matrix`: the header, every variant under every profile for `seeds` on `base`
    /// (read from `scenarioPath`), the JUnit file, the table and the report. Returns whether every cell
    /// passed.
    public static func matrix(_ base: Scenario, scenarioPath: String, variants: [Variant], profiles: [FaultProfile], seeds: ClosedRange<UInt64>,
                              jobs: Int, junitPath: String?, reports: ReportPublisher, output: CommandOutput,
                              now: @escaping @Sendable () -> Double) throws -> Bool {
        output.line("overbook matrix: scenario=\(scenarioPath) seeds=\(seeds.lowerBound)..\(seeds.upperBound) "
                    + "variants=\(variants.map(\.rawValue).joined(separator: ",")) profiles=\(profiles.map(\.name).joined(separator: ",")) jobs=\(jobs)")
        let start = now()
        let replayCommand = { (cell: MatrixCell, seed: UInt64) in
            ReplayInvocation(scenarioPath: scenarioPath, variant: cell.variant.rawValue, profile: cell.profile.name).seed(seed)
        }
        let cells = sweepAll(base, variants: variants, profiles: profiles, seeds: seeds, jobs: jobs) { $0.run(label: $1, output: output, now: now) }
        if let junitPath {
            try SweepRecordFile.writeJUnit(JUnitReport.matrix(cells, suite: base.name, seeds: seeds, elapsedSeconds: now() - start, replay: replayCommand),
                                           to: junitPath, emit: output.line)
        }
        output.line(MatrixText.render(cells, variants: variants, profiles: profiles, replayCommand: replayCommand))
        if reports.wanted {
            // The HTML matrix, with a replay report (timeline included) per counterexample.
            let path = reports.path ?? ReportPaths.matrix(scenario: base.name, seeds: seeds)
            let html = MatrixReport.html(cells: cells, scenario: base, variants: variants, profiles: profiles, seeds: seeds,
                                         context: ReportPublisher.context(scenarioPath: scenarioPath, replayCommand: nil), replaysBeside: path,
                                         replayCommand: replayCommand)
            reports.publish(html, to: path)
        }
        return !cells.contains { $0.batch.failedRuns > 0 }
    }
}
