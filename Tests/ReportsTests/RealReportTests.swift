import BookingCore
import Checking
import RunObservation
import Foundation
import Simulation
import Testing
@testable import Reports

/// Real-mode runs made up for the tests: what `overbook real` hands the report, built the way
/// `RealRun` builds it (observed outcomes and databases, judged by `Verdicts.judge`), with
/// wall-clock latencies of our choosing.
enum RealFixtures {
    static let scenario = Scenario.seedExperiment()

    /// Run `run` (1-based): the statuses and final databases of simulated seed `run`, with
    /// latency 150 ms + a spread of up to 441 ms + 3 ms per run number. With `crash`, a booking
    /// replica died during the run, as `RealRun` reports it.
    static func run(_ run: UInt64, crash: Bool = false) -> RealReport.Run {
        let simulated = Verdicts.simulate(scenario, seed: run).observation
        let outcomes = simulated.outcomes.enumerated().map { index, outcome in
            ClientOutcome(user: outcome.user, process: outcome.process, stay: outcome.stay, sentAt: 0,
                                   completedAt: latency(run: run, user: index), status: outcome.status,
                                   booking: outcome.booking, error: outcome.error)
        }
        let longest = outcomes.compactMap(\.completedAt).max() ?? 0
        let quiescent = simulated.quiescent
        let observed = QuiescentState(time: longest, bookings: quiescent.bookings, availability: quiescent.availability,
                                               liveLocks: [], openTransactions: [], crashed: [], pendingBookings: [])
        let crashes = crash ? [Violation(at: longest, .serviceDied("booking-2 (exit 9)"))] : []
        let verdict = Verdicts.judge(scenario: scenario, observation: RunObservation(run: run, outcomes: outcomes, quiescent: observed),
                                     duringRun: crashes)
        return RealReport.Run(verdict: verdict, duration: longest + 20_000_000)
    }

    static func latency(run: UInt64, user: Int) -> Int64 {
        150_000_000 + Int64((user * 37) % 50) * 9_000_000 + Int64(run) * 3_000_000
    }

    /// Three runs; the second lost a booking replica.
    static let runs = [run(1), run(2, crash: true), run(3)]
    /// `overbook run scenarios/seed-experiment.yaml --seed 1 --runs 3`, as `overbook real` runs it.
    static let simulated = (UInt64(1)...3).map { Verdicts.simulate(scenario, seed: $0) }
    static let context = ReportContext(commandLine: "overbook real scenarios/seed-experiment.yaml --runs 3",
                                       scenarioPath: "scenarios/seed-experiment.yaml", gitCommit: "abc1234",
                                       toolchain: "Swift 6.3.1 (test)", generatedAt: "2026-01-01T00:00:00Z")
    static let command = "overbook run scenarios/seed-experiment.yaml --seed 1 --runs 3"

    static func html(runs: [RealReport.Run] = runs) -> String {
        RealReport.html(runs: runs, simulated: Array(simulated.prefix(runs.count)), context: context, simulatedCommand: command)
    }

    static func answered(_ verdicts: [RunVerdict]) -> [Int64] {
        verdicts.flatMap { $0.observation.outcomes.compactMap { $0.status == nil ? nil : $0.latency } }
    }
}

@Suite struct RealReportTests {
    static let html = RealFixtures.html()

    @Test func hasEverySection() {
        let html = Self.html
        for heading in ["Runs", "Criteria (the seed client&#39;s checks)", "Invariants", "Status distribution (all 150 requests of the 3 runs)",
                        "Latency (wall-clock)", "Simulated vs real latency", "Faults", "Scenario"] {
            expectContains(html, "<h2>\(heading)</h2>")
        }
        expectContains(html, "<meta name=\"overbook-kind\" content=\"real\">")
        expectContains(html, "<title>FAIL · 3 real runs of seed-experiment · Overbook</title>")
        // Scenario, runs and seeds, variant, faults, commit, toolchain.
        for fact in ["<b>Seeds</b>real runs 1–3, simulated seeds 1–3", "<b>Variant</b>seed", "<b>Faults</b>none", "<b>Git commit</b><code>abc1234</code>",
                     "<b>Toolchain</b>Swift 6.3.1 (test)", "<b>Scenario file</b><code>scenarios/seed-experiment.yaml</code>",
                     "<code>overbook real scenarios/seed-experiment.yaml --runs 3</code>", "<code>\(RealFixtures.command)</code>"] {
            expectContains(html, fact)
        }
        // Wall-clock axes for the real data; no timeline (real runs have no trace).
        expectContains(html, "latency (seconds, wall-clock)")
        expectLacks(html, "<svg id=\"timeline\"")
        for external in ["http://", "https://", " src=", "<link", "@import"] { expectLacks(html, external) }
    }

    @Test func numbersMatchTheRuns() throws {
        let verdicts = RealFixtures.runs.map(\.verdict)
        let html = Self.html
        let runs = try #require(html.section("Runs"))
        for run in RealFixtures.runs {
            expectContains(runs, "<td class=\"num\">\(run.verdict.seed)</td>")
            expectContains(runs, "<td class=\"num\">\(formatSeconds(run.verdict.latency.p95))</td>")
            expectContains(runs, "<td class=\"num\">\(formatSeconds(run.duration))</td>")
        }
        var totals: [Int?: Int] = [:]
        for verdict in verdicts { for (status, count) in verdict.statusCounts { totals[status, default: 0] += count } }
        let statuses = try #require(html.section("Status distribution (all 150 requests of the 3 runs)"))
        for (status, count) in totals {
            expectContains(statuses, "<td>\(Sections.statusName(status))</td><td class=\"num\">\(count)</td>")
        }
        let real = LatencyStatistics(RealFixtures.answered(verdicts))
        #expect(real.p95 == LatencyStatistics.percentile(RealFixtures.answered(verdicts).sorted(), 95))
        let latency = try #require(html.section("Latency (wall-clock)"))
        expectContains(latency, "p95 \(formatSeconds(real.p95))")
        expectContains(latency, "SLO p95 &lt; 1.500s")
        expectContains(latency, "<td class=\"num\">\(formatSeconds(real.mean))</td>")
        // Criteria: what each run got; the invariant that run 2 broke, with its message.
        let criteria = try #require(html.section("Criteria (the seed client&#39;s checks)"))
        let p95Row = "<td>" + verdicts.map { formatSeconds($0.latency.p95) }.joined(separator: ", ") + " (runs 1–3)</td>"
        expectContains(criteria, p95Row)
        let invariants = try #require(html.section("Invariants"))
        #expect(invariants.count(of: ">FAIL</span>") == 1)
        #expect(invariants.count(of: ">PASS</span>") == Invariant.allCases.count - 1)
        expectContains(invariants, "run 2, at ")
        expectContains(invariants, "a service died during the run: booking-2 (exit 9)")
        expectContains(invariants, "<td class=\"num\">2 / 3</td>")
        expectContains(html, "<meta name=\"overbook-status\" content=\"FAIL\">")
    }

    @Test func simulatedAndRealSideBySide() throws {
        let real = LatencyStatistics(RealFixtures.answered(RealFixtures.runs.map(\.verdict)))
        // The simulated half is `overbook run ... --seed 1 --runs 3`: seeds 1, 2 and 3.
        var batch = BatchSummary()
        for seed in UInt64(1)...3 { batch.add(Verdicts.simulate(RealFixtures.scenario, seed: seed)) }
        let simulated = LatencyStatistics(batch.latencies)
        #expect(real.p95 != simulated.p95)
        let section = try #require(Self.html.section("Simulated vs real latency"))
        for (name, statistics) in [("real (wall-clock)", real), ("simulated (virtual time)", simulated)] {
            let cells = [statistics.min, statistics.median, statistics.mean, statistics.p95, statistics.p99, statistics.max]
                .map { "<td class=\"num\">\(formatSeconds($0))</td>" }.joined()
            expectContains(section, "\(name)</td><td class=\"num\">\(statistics.count)</td>" + cells)
        }
        expectContains(section, "p95 real \(formatSeconds(real.p95))")
        expectContains(section, "p95 simulated \(formatSeconds(simulated.p95))")
        expectContains(section, "SLO p95 &lt; 1.500s")
        expectContains(section, RealReport.ratio(real.p95, simulated.p95))
        // Two histograms and an overlaid CDF with both curves, all on one x axis.
        #expect(section.count(of: "<figure class=\"chart\">") == 3)
        #expect(section.count(of: "class=\"bar\"") > 0)
        expectContains(section, "<polyline points=")
        expectContains(section, "class=\"cdf sim\"")
        let axis = BinnedLatencies.axis(largest: max(real.max, simulated.max), slo: RealFixtures.scenario.slo.p95.nanoseconds)
        let label = Axis.secondsLabel(axis, step: Axis.niceStep(axis, ticks: 6))
        #expect(section.count(of: "text-anchor=\"middle\">\(label)</text>") == 3)
        // Statuses of both, per status.
        for (status, count) in batch.statusTotals {
            expectContains(section, "<td>\(Sections.statusName(status))</td>")
            expectContains(section, "\(count) (\(Format.percent(count, of: 150)))")
        }
    }

    @Test func oneRunReadsLikeARunReport() throws {
        let html = RealFixtures.html(runs: [RealFixtures.runs[0]])
        let verdict = RealFixtures.runs[0].verdict
        expectContains(html, "<title>PASS · Real run of seed-experiment · Overbook</title>")
        expectContains(html, "<b>Seed</b>real run 1, simulated seed 1")
        for heading in ["Status distribution", "Users", "Simulated vs real latency"] { expectContains(html, "<h2>\(heading)</h2>") }
        let criteria = try #require(html.section("Criteria (the seed client&#39;s checks)"))
        for criterion in verdict.criteria { expectContains(criteria, "<td>\(escape(criterion.got))</td>") }
        expectContains(html, escape(RunReport.summaryLine(verdict)))
        let invariants = try #require(html.section("Invariants"))
        #expect(invariants.count(of: ">PASS</span>") == Invariant.allCases.count)
    }

    @Test func renderingIsAPureFunctionOfItsInputs() {
        let same = RealFixtures.html() == Self.html
        #expect(same)
    }

    @Test func defaultPath() {
        #expect(ReportPaths.real(scenario: "seed-experiment", runs: 20) == "reports/real-seed-experiment-runs-20.html")
    }
}
