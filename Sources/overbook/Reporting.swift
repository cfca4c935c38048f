import ArgumentParser
import BookingCore
import RunObservation
import Checking
import Foundation
import Reports

struct ReportOptions: ParsableArguments {
    @Option(help: "Write the HTML report to this path (default: a file under reports/, listed in reports/index.html).")
    var report: String?

    @Flag(help: "Write no HTML report.")
    var noReport = false
}

/// Writes the HTML reports: the CLI's side of `Reports`, which itself reads no clock, git or
/// environment.
enum Reporting {
    static func context(scenarioPath: String, replayCommand: String?, wallSeconds: Double? = nil) -> ReportContext {
        ReportContext(commandLine: CommandLine.arguments.map(shellQuoted).joined(separator: " ").replacingOccurrences(of: CommandLine.arguments[0], with: "overbook"),
                      scenarioPath: scenarioPath, gitCommit: gitCommit, toolchain: toolchain,
                      generatedAt: ISO8601DateFormatter().string(from: Date()), replayCommand: replayCommand, wallSeconds: wallSeconds)
    }

    static let toolchain: String = {
        #if compiler(>=6.3)
        "Swift 6.3 or later"
        #else
        "Swift 6"
        #endif
    }()

    static let gitCommit: String = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "describe", "--always", "--dirty", "--abbrev=12"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }()

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
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let (replays, problems) = FailureReplays.write(
            for: batch, invariants: Invariant.allCases, scenario: { options.scenario(base, seed: $0) },
            path: { ReportPaths.replay(scenario: base.name, seed: $0, directory: directory) },
            context: { context(scenarioPath: options.scenario, replayCommand: options.replay.seed($0)) })
        problems.forEach(Console.error)
        let html = BatchReport.html(batch: batch, scenario: base, firstSeed: firstSeed,
                                    context: context(scenarioPath: options.scenario, replayCommand: nil, wallSeconds: wallSeconds),
                                    failingReplays: replays)
        publish(html, to: path)
    }
}
