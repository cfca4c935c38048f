import BookingCore
import Checking
import Foundation
import Simulation
import Testing
@testable import Reports

/// Writes one report of each kind to `$OVERBOOK_REPORT_SAMPLES` (a directory), for looking at
/// them in a browser: `scripts/check-reports.sh` opens them in headless Chromium.
///
///     OVERBOOK_REPORT_SAMPLES=/tmp/samples swift test --filter ReportsTests.SampleReports
@Suite(.enabled(if: ProcessInfo.processInfo.environment["OVERBOOK_REPORT_SAMPLES"] != nil, "set OVERBOOK_REPORT_SAMPLES=DIR to write sample reports"))
struct SampleReports {
    static var directory: String { ProcessInfo.processInfo.environment["OVERBOOK_REPORT_SAMPLES"] ?? "/tmp/overbook-samples" }

    func write(_ html: String, _ name: String) throws {
        try ReportWriter.write(html: html, to: "\(Self.directory)/\(name)")
    }

    @Test func writeSamples() throws {
        try write(RunReport.html(verdict: Fixtures.replay, context: Fixtures.context), "replay-seed-experiment-seed-3.html")
        var runContext = Fixtures.context
        runContext.commandLine = "overbook run scenarios/seed-experiment.yaml --seed 3"
        try write(RunReport.html(verdict: Fixtures.run, context: runContext), "run-seed-experiment-seed-3.html")

        let failing = try #require(Fixtures.doubleBooking)
        let failingName = "replay-overlapping-stays-2-seed-\(failing.seed).html"
        try write(RunReport.html(verdict: failing, context: Fixtures.context(for: failing, path: "scenarios/overlapping-stays-2.yaml")), failingName)

        var batch = BatchSummary()
        let overlapping = Fixtures.overlappingStays()
        for seed in UInt64(1)...50 { batch.add(Verdicts.simulate(overlapping, seed: seed)) }
        try write(BatchReport.html(batch: batch, scenario: overlapping, firstSeed: 1,
                                   context: ReportContext(commandLine: "overbook run scenarios/overlapping-stays-2.yaml --seed 1 --runs 50",
                                                          scenarioPath: "scenarios/overlapping-stays-2.yaml", gitCommit: "abc1234",
                                                          toolchain: "Swift 6.3.1", generatedAt: "2026-01-01T00:00:00Z", wallSeconds: 0.8),
                                   failingReplays: [.capacity: failingName]), "run-overlapping-stays-2-seeds-1-50.html")
        try write(BatchReport.html(batch: Fixtures.batch, scenario: .seedExperiment(), firstSeed: 1, context: Fixtures.context),
                  "run-seed-experiment-seeds-1-6.html")

        // A booking replica pauses 12 s right after taking the lock: the lock expires under it.
        var paused = Scenario.seedExperiment(users: 10)
        paused.name = "pause-after-lock"
        paused.faults = [FaultSpec(kind: .pause, trigger: .point(.lockAcquired, .always), target: .booking(nil), duration: .seconds(12), limit: 1)]
        let pausedVerdict = Verdicts.simulate(paused, seed: 1, options: SimulationOptions(traceMode: .record))
        try write(RunReport.html(verdict: pausedVerdict, context: Fixtures.context(for: pausedVerdict, path: "scenarios/pause-after-lock.yaml")),
                  "replay-pause-after-lock-seed-1.html")

        // 5,000 users: aggregated lanes.
        let herd = Verdicts.simulate(.seedExperiment(users: 5_000), seed: 1, options: SimulationOptions(traceMode: .record))
        let herdHTML = RunReport.html(verdict: herd, context: Fixtures.context(for: herd, path: "scenarios/thundering-herd-5000.yaml"))
        #expect(herdHTML.utf8.count < 5_000_000)
        try write(herdHTML, "replay-thundering-herd-5000-seed-1.html")

        // `overbook real scenarios/seed-experiment.yaml --runs 3`: made-up wall-clock runs beside seeds 1-3.
        try write(RealReport.html(runs: (UInt64(1)...3).map { RealFixtures.run($0) }, simulated: RealFixtures.simulated,
                                  context: RealFixtures.context, simulatedCommand: RealFixtures.command),
                  "real-seed-experiment-runs-3.html")

        try ReportIndex.write(directory: Self.directory)
    }
}
