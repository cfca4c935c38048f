import BookingCore
import RunObservation
import Checking
import Simulation

/// The report of `overbook real`: the same sections as a run or batch report, from runs against
/// real Redis, PostgreSQL and the HTTP services (wall-clock latencies), plus the latency of the
/// same scenario in the simulator (virtual time), side by side.
public enum RealReport {
    /// One run against the real stack.
    public struct Run: Sendable {
        public var verdict: RunVerdict
        /// Wall-clock nanoseconds from the first request sent to the last answer.
        public var duration: Int64
        /// The faults carried out on the real stack during the run, in order.
        public var faults: [FiredFault]

        public init(verdict: RunVerdict, duration: Int64, faults: [FiredFault] = []) {
            self.verdict = verdict
            self.duration = duration
            self.faults = faults
        }
    }

    /// - Parameters:
    ///   - runs: the real runs, in order (at least one); their verdicts number them 1...N.
    ///   - simulated: the same scenario in the simulator, one verdict per seed (seeds 1...N).
    ///   - simulatedCommand: the `overbook run` command that gives `simulated`.
    ///   - notInjected: the scenario file's faults real mode does not carry out, with why.
    ///   - backends: where Redis and PostgreSQL came from, in words.
    ///   - replayed: for a schedule replayed on the real stack, per run whether its violation
    ///     was reproduced (and where the run left the story).
    public static func html(runs: [Run], simulated: [RunVerdict], context: ReportContext, simulatedCommand: String,
                            notInjected: [SkippedFault] = [], backends: String = "throwaway servers started for the run",
                            replayed: [String] = []) -> String {
        precondition(!runs.isEmpty, "a real report needs at least one run")
        let scenario = runs[0].verdict.scenario
        let verdicts = runs.map(\.verdict)
        let passed = verdicts.allSatisfy(passes)
        let real = pooled(verdicts)
        let sim = pooled(simulated)
        let title = runs.count == 1 ? "Real run of \(scenario.name)" : "\(Format.count(runs.count)) real runs of \(scenario.name)"
        let summary = summaryLine(verdicts, real: real, simulated: sim)
        let seeds = runs.count == 1 ? "real run \(verdicts[0].seed), simulated seed \(range(simulated.map(\.seed)))"
            : "real runs \(range(verdicts.map(\.seed))), simulated seeds \(range(simulated.map(\.seed)))"

        return Page.document(Page.Meta(kind: "real", title: title, passed: passed, summary: summary, generatedAt: context.generatedAt)) {
            Page.header(title: title, passed: passed, summary: summary)
            Sections.facts(scenario: scenario, context: context, seeds: seeds, extra: [
                ("Mode", "real: Redis (hiredis) and PostgreSQL (libpq) behind the HTTP services"),
                ("Backends", backends),
                ("Booking replicas", String(scenario.bookingReplicas)),
                ("Wall time of the runs", Format.short(runs.reduce(0) { $0 + $1.duration })),
            ])
            el("p") {
                el("b", text: "Reproduce: ")
                el("code", text: context.commandLine)
            }
            el("p", ["class": "muted small"], text: "Real runs are not deterministic: the servers' threads, the kernel and the network decide the order. A run number seeds only the arrival draws and request ids.")
            if !replayed.isEmpty {
                el("section") {
                    el("h2", text: "Schedule replayed on the real stack")
                    el("p", text: "The simulated schedule's story (who sends when, the order requests pass the services' fault points, where the faults strike) was forced on the real services with barriers; then the same invariants were checked on the real databases and Redis.")
                    el("ul") { for line in replayed { el("li", text: line) } }
                }
            }
            runsSection(runs)
            criteria(verdicts)
            Sections.invariants(failing: failingInvariants(verdicts),
                                note: "Checked on what the real databases and Redis held once every answer was in (and on the services staying up), as `overbook run` checks at quiescence.",
                                counts: runs.count == 1 ? [:] : keptCounts(verdicts))
            Sections.statuses(real.statuses, heading: runs.count == 1 ? "Status distribution"
                                : "Status distribution (all \(Format.count(real.requests)) requests of the \(runs.count) runs)")
            Sections.latency(BinnedLatencies(real.latencies, slo: scenario.slo.p95.nanoseconds), slo: scenario.slo, heading: "Latency (wall-clock)",
                             note: "Answered requests\(runs.count == 1 ? "" : " of every run, pooled"), in wall-clock time from send to answer over HTTP. The dashed blue line is the p95; the red line the SLO.",
                             clock: "wall-clock")
            comparison(real: real, simulated: sim, scenario: scenario, simulatedCommand: simulatedCommand)
            faultsSection(runs, notInjected: notInjected, scenarioFaults: scenario.faults.count)
            if runs.count == 1 { RunReport.usersSection(verdicts[0]) }
            Sections.scenario(scenario)
        }
    }

    /// What real mode did with the scenario's faults: each firing with its mechanism, per run,
    /// and the faults it could not carry out, with why.
    /// Runs drawn on a fault timeline in the report (the rest are listed).
    static let timelinesShown = 5

    static func faultsSection(_ runs: [Run], notInjected: [SkippedFault], scenarioFaults: Int) -> HTML {
        el("section") {
            el("h2", text: "Faults")
            if scenarioFaults == 0 && notInjected.isEmpty {
                el("p", text: "The scenario has no faults: the servers run as they are, and so does the simulated comparison.")
            } else {
                let fired = runs.flatMap(\.faults)
                el("p", text: "Carried out on the real stack (signals to the service processes, the loopback proxies on each hop, the throwaway Redis, pg_terminate_backend, the driver's retries): \(fired.countsByKind).")
                for (offset, run) in runs.enumerated().prefix(Self.timelinesShown) where !run.faults.isEmpty {
                    RealTimeline.chart(run, caption: "\(runs.count == 1 ? "The run" : "Run \(offset + 1)"): each user's request from send to answer "
                                       + "(green 201, grey 409, yellow 503, red no answer), and each fault as it fired (hover for its mechanism).")
                }
                for (offset, run) in runs.enumerated() where !run.faults.isEmpty {
                    el("p", text: runs.count == 1 ? "As they fired:" : "Run \(offset + 1):")
                    el("ul") { for fault in run.faults { el("li") { el("code", text: "\(formatSeconds(fault.at)) \(fault.mechanism)") } } }
                }
                if !notInjected.isEmpty {
                    el("p", text: "Not injected in real mode (the simulated comparison leaves them out too):")
                    el("ul") { for skipped in notInjected { el("li") { el("code", text: skipped.line) } } }
                }
            }
        }
    }

    /// PASS: every invariant held and every deciding criterion was met (`overbook real` exits 0).
    static func passes(_ verdict: RunVerdict) -> Bool {
        verdict.passed && verdict.criteria.allSatisfy { $0.passed || !$0.decides }
    }

    /// What many runs add up to.
    struct Pool {
        var latencies: [Int64]
        var statistics: LatencyStatistics
        var statuses: [(status: Int?, count: Int)]
        var requests: Int
    }

    static func pooled(_ verdicts: [RunVerdict]) -> Pool {
        var batch = BatchSummary()
        for verdict in verdicts { batch.add(verdict) }
        let statuses: [(status: Int?, count: Int)] = batch.statusTotals.keys.sorted { ($0 ?? .max) < ($1 ?? .max) }.map { ($0, batch.statusTotals[$0]!) }
        return Pool(latencies: batch.latencies, statistics: LatencyStatistics(batch.latencies), statuses: statuses,
                    requests: statuses.reduce(0) { $0 + $1.count })
    }

    /// `1–3`, `5`, or `none`.
    static func range(_ numbers: [UInt64]) -> String {
        guard let first = numbers.min(), let last = numbers.max() else { return "none" }
        return first == last ? String(first) : "\(first)–\(last)"
    }

    static func summaryLine(_ verdicts: [RunVerdict], real: Pool, simulated: Pool) -> String {
        var text: String
        if verdicts.count == 1 {
            text = RunReport.summaryLine(verdicts[0])
        } else {
            let failing = verdicts.filter { !$0.passed }
            text = failing.isEmpty ? "Every invariant held in all \(verdicts.count) runs"
                : "\(failing.count) of \(verdicts.count) runs violated an invariant ("
                    + Array(Set(failing.flatMap(\.violatedInvariants))).sorted().map(\.title).joined(separator: "; ") + ")"
            let booked = verdicts.map { verdict in verdict.observation.outcomes.filter { $0.status == StatusCode.created }.count }
            text += "; 201s per run: " + (Set(booked).count == 1 ? "\(booked[0]) in every run" : booked.map(String.init).joined(separator: ", "))
            let missed = verdicts.filter { $0.passed && !passes($0) }.count
            if missed > 0 { text += "; \(missed) of \(verdicts.count) runs missed a criterion" }
        }
        return text + "; p95 \(Format.seconds(real.statistics.p95)) real (wall-clock) vs \(Format.seconds(simulated.statistics.p95)) simulated (virtual time)"
    }

    static func runsSection(_ runs: [Run]) -> HTML {
        el("section") {
            el("h2", text: "Runs")
            el("table") {
                el("tr") {
                    el("th", text: "run"); el("th", text: "statuses")
                    for name in ["p95", "mean", "max", "wall time"] { el("th", ["class": "num"], text: name) }
                    el("th", text: "invariants"); el("th", text: "criteria")
                }
                for run in runs {
                    let verdict = run.verdict
                    el("tr") {
                        el("td", ["class": "num"], text: String(verdict.seed))
                        el("td", text: verdict.statusCounts.map { "\(Format.count($0.count)) × \(Format.status($0.status))" }.joined(separator: ", "))
                        for value in [verdict.latency.p95, verdict.latency.mean, verdict.latency.max, run.duration] {
                            el("td", ["class": "num"], text: Format.seconds(value))
                        }
                        el("td") { Page.verdict(verdict.passed) }
                        el("td") { Page.verdict(verdict.criteria.allSatisfy { $0.passed || !$0.decides }) }
                    }
                }
            }
        }
    }

    /// One run: its criteria as they are. Several: each criterion with what every run got.
    static func criteria(_ verdicts: [RunVerdict]) -> HTML {
        let rows = verdicts[0].criteria.map { first -> Sections.CriterionRow in
            let all = verdicts.compactMap { $0.criteria.first { $0.title == first.title } }
            let got = all.map(\.got)
            let met = all.filter(\.passed).count
            var text: String
            if Set(got).count == 1 {
                text = got[0] + (verdicts.count > 1 ? " (every run)" : "")
            } else if got.contains(where: { $0.contains(",") }) {
                text = zip(verdicts, got).map { "run \($0.seed): \($1)" }.joined(separator: "; ")
            } else {
                text = got.joined(separator: ", ") + " (runs \(range(verdicts.map(\.seed))))"
            }
            if met < verdicts.count && verdicts.count > 1 { text += "; met in \(met) of \(verdicts.count)" }
            return Sections.CriterionRow(title: first.title, expected: first.expected, got: text, passed: met == verdicts.count, decides: first.decides)
        }
        return Sections.criteria(rows)
    }

    static func failingInvariants(_ verdicts: [RunVerdict]) -> [Invariant: [String]] {
        var failing: [Invariant: [String]] = [:]
        for verdict in verdicts {
            for violation in verdict.violations {
                let prefix = verdicts.count == 1 ? "" : "run \(verdict.seed), "
                failing[violation.invariant, default: []].append("\(prefix)at \(Format.virtualTime(violation.time)): \(violation.message)")
            }
        }
        return failing
    }

    /// Invariant → `kept / runs`.
    static func keptCounts(_ verdicts: [RunVerdict]) -> [Invariant: String] {
        var counts: [Invariant: String] = [:]
        for invariant in Invariant.allCases {
            let kept = verdicts.filter { verdict in !verdict.violations.contains { $0.invariant == invariant } }.count
            counts[invariant] = "\(Format.count(kept)) / \(Format.count(verdicts.count))"
        }
        return counts
    }

    /// The real and the simulated latencies: a table, a histogram each on one axis, both CDFs.
    static func comparison(real: Pool, simulated: Pool, scenario: Scenario, simulatedCommand: String) -> HTML {
        let slo = scenario.slo.p95.nanoseconds
        let axis = BinnedLatencies.axis(largest: max(real.statistics.max, simulated.statistics.max), slo: slo)
        let realBins = BinnedLatencies(real.latencies, slo: slo, axisMax: axis)
        let simulatedBins = BinnedLatencies(simulated.latencies, slo: slo, axisMax: axis)
        let columns: [(String, KeyPath<LatencyStatistics, Int64>)] = [("min", \.min), ("median", \.median), ("mean", \.mean), ("p95", \.p95), ("p99", \.p99), ("max", \.max)]
        return el("section") {
            el("h2", text: "Simulated vs real latency")
            el("style") { HTML.trusted(css) }
            el("p", ["class": "small"]) {
                "The same scenario (variant \(scenario.variant.rawValue), \(Format.plural(scenario.userCount, "user")), \(Format.plural(scenario.bookingReplicas, "booking replica")), no faults) in the simulator, one run per seed, as "
                el("code", text: simulatedCommand)
                " runs it. Real latencies are wall-clock time over HTTP against Redis and PostgreSQL; simulated ones are virtual time drawn from the scenario's latency profile (below)."
            }
            el("table", ["class": "compare"]) {
                el("tr") {
                    el("th", text: ""); el("th", ["class": "num"], text: "answered")
                    for (name, _) in columns { el("th", ["class": "num"], text: name) }
                }
                for (name, cssClass, pool) in [("real (wall-clock)", "k-real", real), ("simulated (virtual time)", "k-sim", simulated)] {
                    el("tr") {
                        el("td") { el("span", ["class": "key " + cssClass]); name }
                        el("td", ["class": "num"], text: Format.count(pool.statistics.count))
                        for (_, path) in columns { el("td", ["class": "num"], text: Format.seconds(pool.statistics[keyPath: path])) }
                    }
                }
                el("tr") {
                    el("td", ["class": "muted"], text: "real ÷ simulated")
                    el("td", text: "")
                    for (_, path) in columns { el("td", ["class": "num muted"], text: ratio(real.statistics[keyPath: path], simulated.statistics[keyPath: path])) }
                }
            }
            el("table", ["class": "compare"]) {
                el("tr") { el("th", text: "status"); el("th", ["class": "num"], text: "real"); el("th", ["class": "num"], text: "simulated") }
                for status in (real.statuses + simulated.statuses).map(\.status).uniqued().sorted(by: { ($0 ?? .max) < ($1 ?? .max) }) {
                    el("tr") {
                        el("td", text: Sections.statusName(status))
                        for pool in [real, simulated] {
                            let count = pool.statuses.first { $0.status == status }?.count ?? 0
                            el("td", ["class": "num"], text: "\(Format.count(count)) (\(Format.percent(count, of: pool.requests)))")
                        }
                    }
                }
            }
            if real.statistics.count == 0 && simulated.statistics.count == 0 {
                el("p", ["class": "muted"], text: "No request was answered, so there is no latency to chart.")
            } else {
                el("div", ["class": "charts"]) {
                    Charts.histogram(realBins, slo: slo, caption: "Real: p95 \(Format.seconds(real.statistics.p95)) (wall-clock)", clock: "wall-clock")
                    el("div", ["class": "sim"]) {
                        Charts.histogram(simulatedBins, slo: slo, caption: "Simulated: p95 \(Format.seconds(simulated.statistics.p95)) (virtual time), same axis", clock: "virtual time")
                    }
                    Charts.cdf([Charts.CDFSeries(data: realBins, cssClass: "cdf", name: "real"),
                                Charts.CDFSeries(data: simulatedBins, cssClass: "cdf sim", name: "simulated")],
                               markers: [Charts.Marker(value: real.statistics.p95, label: "p95 real " + Format.seconds(real.statistics.p95), cssClass: "m-p95"),
                                         Charts.Marker(value: simulated.statistics.p95, label: "p95 simulated " + Format.seconds(simulated.statistics.p95), cssClass: "m-p95 sim")],
                               legendMarkers: [Charts.Marker(value: slo, label: "SLO p95 < " + Format.seconds(slo), cssClass: "m-slo")],
                               caption: "Both CDFs on one axis: share of answered requests within each latency", clock: "wall-clock or virtual time")
                }
            }
        }
    }

    /// `3.42×`, or `—` when the simulated figure is zero.
    static func ratio(_ real: Int64, _ simulated: Int64) -> String {
        simulated > 0 ? Format.decimal(real * 100 / simulated, unit: 100, digits: 2) + "×" : "—"
    }

    /// The simulated series in orange, beside the real one in the report's blue.
    static let css: StaticString = """
    .sim .chart .bar { fill: #fb8f44; }
    .chart .cdf.sim { stroke: #bc4c00; stroke-dasharray: 6 3; }
    .mline.m-p95.sim, .sim .mline.m-p95 { stroke: #bc4c00; } .mlabel.m-p95.sim, .sim .mlabel.m-p95 { fill: #bc4c00; }
    .compare .key { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
    .compare .key.k-real { background: #0969da; } .compare .key.k-sim { background: #bc4c00; }
    """
}

extension ReportPaths {
    /// `reports/real-seed-experiment-runs-3.html`.
    public static func real(scenario: String, runs: Int, directory: String = directory) -> String {
        "\(directory)/real-\(slug(scenario))-runs-\(runs).html"
    }
}

extension RealReport {
    /// The real runs' scenario in the simulator for seeds 1...runs, as `overbook run SCENARIO
    /// --seed 1 --runs N` runs it: the report's other latency distribution.
    public static func simulatedCounterparts(of scenario: Scenario, runs: Int) -> [RunVerdict] {
        simulatedCounterparts(runs: runs) { _ in scenario }
    }

    /// Seed N simulates the scenario real run N played (with `--swarm`, its own draw).
    public static func simulatedCounterparts(runs: Int, scenario: (UInt64) -> Scenario) -> [RunVerdict] {
        (1...UInt64(runs)).map { Verdicts.simulate(scenario($0), seed: $0) }
    }

    /// One line comparing the real runs' latency (wall clock) with the simulated runs' (virtual
    /// time), each pooled over its runs.
    public static func latencyComparison(real: [RunVerdict], simulated: [RunVerdict]) -> String {
        func pooledLatency(_ verdicts: [RunVerdict]) -> LatencyStatistics {
            var batch = BatchSummary()
            for verdict in verdicts { batch.add(verdict) }
            return LatencyStatistics(batch.latencies)
        }
        let (real, virtual) = (pooledLatency(real), pooledLatency(simulated))
        return "latency: real (wall-clock) p95 \(formatSeconds(real.p95)), p50 \(formatSeconds(real.median)), mean \(formatSeconds(real.mean)); "
            + "simulated (\(simulated.count == 1 ? "seed 1" : "seeds 1-\(simulated.count)"), virtual time) "
            + "p95 \(formatSeconds(virtual.p95)), p50 \(formatSeconds(virtual.median)), mean \(formatSeconds(virtual.mean))"
    }

    /// The `overbook run` command that gives `simulatedCounterparts`, naming what real mode
    /// changed in the scenario file (`replicas`: `--replicas`; `faultsDropped`: its faults).
    public static func simulatedCommand(scenarioPath: String, runs: Int, variant: String?, replicas: Int?, faultsDropped: Int) -> String {
        var command = "overbook run \(shellQuoted(scenarioPath)) --seed 1 --runs \(runs)"
        if let variant { command += " --variant \(variant)" }
        var changed: [String] = []
        if let replicas { changed.append("booking_replicas: \(replicas)") }
        if faultsDropped > 0 { changed.append("\(Format.plural(faultsDropped, "fault")) left out, as real mode leaves them out") }
        if !changed.isEmpty { command += " (with \(changed.joined(separator: " and ")) in the scenario)" }
        return command
    }
}
