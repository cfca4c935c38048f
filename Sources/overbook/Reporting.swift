import ArgumentParser
import BookingCore
import RunObservation
import Checking
import Reports

struct ReportOptions: ParsableArguments {
    @Option(help: "Write the HTML report to this path (default: a file under reports/, listed in reports/index.html).")
    var report: String?

    @Flag(help: "Write no HTML report.")
    var noReport = false
}

/// Writes the HTML reports: which report a command asked for, where it goes, and what is printed.
enum Reporting {
    static func context(scenarioPath: String, replayCommand: String?, wallSeconds: Double? = nil) -> ReportContext {
        ReportContext.current(scenarioPath: scenarioPath, replayCommand: replayCommand, wallSeconds: wallSeconds)
    }

    /// Writes `html` to `path` and refreshes the index beside it; prints where.
    static func publish(_ html: String, to path: String) {
        do {
            let index = try ReportWriter.publish(html: html, to: path)
            print("report: \(path)  (all reports: \(index))")
        } catch {
            Console.error("could not write the report to \(path): \(error.localizedDescription)")
        }
    }

    /// A single run's report (a replay report: with the timeline when `verdict` has events).
    /// `schedule`: the schedule file the run replayed (its replay command and report name then
    /// come from the file, not the seed).
    static func single(_ verdict: RunVerdict, options: ScenarioOptions, reportOptions: ReportOptions, kind: String,
                       schedule: String? = nil) {
        guard !reportOptions.noReport else { return }
        let replay = schedule.map(options.replay.schedule) ?? options.replay.seed(verdict.seed)
        let path = reportOptions.report ?? ReportPaths.single(scenario: verdict.scenario.name, seed: verdict.seed, replay: kind == "replay", schedule: schedule)
        publish(RunReport.html(verdict: verdict, context: context(scenarioPath: options.scenario, replayCommand: replay)), to: path)
    }

    /// A batch report, with a replay report (timeline included) for the first failing seed of
    /// each invariant.
    static func batch(_ batch: BatchSummary, base: Scenario, firstSeed: UInt64, options: ScenarioOptions,
                      reportOptions: ReportOptions, wallSeconds: Double) {
        guard !reportOptions.noReport else { return }
        let path = reportOptions.report ?? ReportPaths.batch(scenario: base.name, firstSeed: firstSeed, runs: batch.runs)
        let (html, problems) = BatchReport.html(batch: batch, scenario: base, firstSeed: firstSeed,
                                                context: context(scenarioPath: options.scenario, replayCommand: nil, wallSeconds: wallSeconds),
                                                replaysBeside: path, scenarioForSeed: { options.scenario(base, seed: $0) },
                                                replayCommand: options.replay.seed)
        problems.forEach(Console.error)
        publish(html, to: path)
    }
}
