import BookingCore
import Checking
import Foundation
import RunObservation
import Simulation

/// The runs a simulator command makes of one scenario file (`run`, `replay`, `sweep`, `merge`):
/// `base` as read (with --variant applied), each seed's scenario drawn from it as `selection`
/// says; what they print goes to `output`, their reports to `reports`.
public struct SimulatedRuns: Sendable {
    public var base: Scenario
    public var selection: RunSelection
    public var reports: ReportPublisher
    public var output: CommandOutput
    /// Wall-clock seconds, for progress and the reports' wall time.
    public var now: @Sendable () -> Double

    public init(base: Scenario, selection: RunSelection, reports: ReportPublisher, output: CommandOutput, now: @escaping @Sendable () -> Double) {
        self.base = base
        self.selection = selection
        self.reports = reports
        self.output = output
        self.now = now
    }

    /// The scenario as it runs for `seed`.
    public func scenario(seed: UInt64) -> Scenario { selection.scenario(base, seed: seed) }

    /// How a seed is replayed, for printed replay commands.
    public var replay: ReplayInvocation { selection.replay }

    /// `overbook run`: `count` consecutive seeds from `first`, the summary (one run's with its
    /// trace hash) and the report. Returns whether every run passed; otherwise it has printed
    /// the command that replays the first failing seed.
    public func run(from first: UInt64, count: Int) -> Bool {
        if count == 1 {
            // Recording costs little for one run and gives the report its timeline.
            let verdict = Verdicts.simulate(scenario(seed: first), seed: first, options: SimulationOptions(traceMode: .record))
            output.line(SummaryText.render(verdict))
            output.line(verdict.traceHashLine)
            reports.single(verdict, replay: replay, kind: "run")
            return passed(firstFailing: verdict.passed ? nil : first)
        }
        var meter = output.meter(total: count, label: "run", now: now)
        let start = now()
        let batch = BatchSummary.consecutive(from: first, count: count, verdict: { Verdicts.simulate(scenario(seed: $0), seed: $0) }) {
            meter.update(done: $0, failures: $1)
        }
        let elapsed = now() - start
        output.line(SummaryText.render(batch, scenario: base, firstSeed: first))
        reports.batch(batch, base: base, firstSeed: first, replay: replay, scenarioForSeed: scenario(seed:), wallSeconds: elapsed)
        return passed(firstFailing: batch.firstFailingSeed)
    }

    private func passed(firstFailing seed: UInt64?) -> Bool {
        guard let seed else { return true }
        output.line("\nReplay the first failing seed with:\n  \(replay.seed(seed))")
        return false
    }

    /// `overbook replay`: `scenario` for `seed` (following `schedule`'s choices when given),
    /// its faults, the timeline (or the trace written as JSON lines to `tracePath`, an
    /// `OutputFileError` when it cannot be), the summary and the report. Returns whether it passed.
    public func replay(_ scenario: Scenario, seed: UInt64, schedule: (path: String, file: ScheduleFile)?, maxSteps: Int?,
                       tracePath: String?) throws -> Bool {
        if !scenario.faults.isEmpty {
            output.line("faults in this run's scenario:")
            for fault in scenario.faults { output.line("  - \(fault)") }
        }
        let (verdict, problems, findings) = Verdicts.replay(scenario, seed: seed, schedule: schedule?.file, maxSteps: maxSteps)
        problems.forEach(output.error)
        findings.forEach(output.line)
        if !verdict.simulated.activeFaults.isEmpty {
            output.line("active in this run: " + verdict.simulated.activeFaults.map(\.kind.rawValue).joined(separator: ", "))
        }
        let events = verdict.simulated.events
        if let tracePath {
            do {
                try events.map { $0.jsonLine + "\n" }.joined().write(toFile: tracePath, atomically: true, encoding: .utf8)
            } catch {
                throw OutputFileError(description: "cannot write the trace to \(tracePath): \(error.localizedDescription)")
            }
            output.line("wrote \(events.count) events to \(tracePath)")
        } else {
            output.line("\nTIMELINE (virtual time, process, what happened)")
            for event in events { output.line(event.description) }
        }
        output.line(SummaryText.render(verdict))
        output.line(verdict.traceHashLine)
        reports.single(verdict, replay: replay, kind: "replay", schedule: schedule?.path)
        return verdict.passed
    }

    /// The sweep of `seeds` on `jobs` workers, stopping at the first seed that breaks one of
    /// `stopOn`, with a progress meter labelled `label`.
    public func sweep(_ seeds: ClosedRange<UInt64>, jobs: Int, stopOn: Set<Invariant>, label: String) -> ParallelSweep.Outcome {
        let runs = self
        return ParallelSweep(seeds: seeds, jobs: jobs, stopOn: stopOn) { seed in
            Verdicts.simulate(runs.scenario(seed: seed), seed: seed)
        }.run(label: label, output: output, now: now)
    }

    /// What `overbook sweep` (and `merge`, for the shards it folds) prints and writes about a
    /// batch from `firstSeed`: the summary, the report, the failures with their replay commands.
    public func summarize(_ batch: BatchSummary, firstSeed: UInt64, wallSeconds: Double) {
        output.line(SummaryText.render(batch, scenario: base, firstSeed: firstSeed))
        reports.batch(batch, base: base, firstSeed: firstSeed, replay: replay, scenarioForSeed: scenario(seed:), wallSeconds: wallSeconds)
    }
}
