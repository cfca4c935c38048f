import BookingCore
import Checking
import Foundation
import RunObservation

/// Writes a command's HTML reports: which report it asked for, where it goes, and what is
/// printed about it (on `output`).
public struct ReportPublisher: Sendable {
    /// `--report PATH`: where the report goes instead of its default under reports/.
    public var path: String?
    /// `false` for `--no-report`.
    public var wanted: Bool
    public var output: CommandOutput

    public init(path: String? = nil, wanted: Bool = true, output: CommandOutput) {
        self.path = path
        self.wanted = wanted
        self.output = output
    }

    public static func context(scenarioPath: String, replayCommand: String?, wallSeconds: Double? = nil) -> ReportContext {
        ReportContext.current(scenarioPath: scenarioPath, replayCommand: replayCommand, wallSeconds: wallSeconds)
    }

    /// Writes `html` to `path` and refreshes the index beside it; prints where.
    public func publish(_ html: String, to path: String) {
        do {
            let index = try ReportWriter.publish(html: html, to: path)
            output.line("report: \(path)  (all reports: \(index))")
        } catch {
            output.error("could not write the report to \(path): \(error.localizedDescription)")
        }
    }

    /// A single run's report (a replay report: with the timeline when `verdict` has events),
    /// replayed by `replay`. `schedule`: the schedule file the run replayed (its replay command
    /// and report name then come from the file, not the seed).
    public func single(_ verdict: RunVerdict, replay: ReplayInvocation, kind: String, schedule: String? = nil) {
        guard wanted else { return }
        let command = schedule.map(replay.schedule) ?? replay.seed(verdict.seed)
        let path = self.path ?? ReportPaths.single(scenario: verdict.scenario.name, seed: verdict.seed, replay: kind == "replay", schedule: schedule)
        publish(RunReport.html(verdict: verdict, context: Self.context(scenarioPath: replay.scenarioPath, replayCommand: command)), to: path)
    }

    /// A batch report, with a replay report (timeline included) for the first failing seed of
    /// each invariant; `scenarioForSeed`: the scenario as it ran for a seed.
    public func batch(_ batch: BatchSummary, base: Scenario, firstSeed: UInt64, replay: ReplayInvocation,
                      scenarioForSeed: (UInt64) -> Scenario, wallSeconds: Double) {
        guard wanted else { return }
        let path = self.path ?? ReportPaths.batch(scenario: base.name, firstSeed: firstSeed, runs: batch.runs)
        let (html, problems) = BatchReport.html(batch: batch, scenario: base, firstSeed: firstSeed,
                                                context: Self.context(scenarioPath: replay.scenarioPath, replayCommand: nil, wallSeconds: wallSeconds),
                                                replaysBeside: path, scenarioForSeed: scenarioForSeed,
                                                replayCommand: replay.seed)
        problems.forEach(output.error)
        publish(html, to: path)
    }
}
