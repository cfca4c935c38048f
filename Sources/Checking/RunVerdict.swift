import BookingCore
import RunObservation
import Simulation

/// Latency figures over the requests that got an answer, in nanoseconds (virtual or real).
/// Percentiles interpolate linearly between ranks (numpy's default), in exact integers.
public struct LatencyStatistics: Hashable, Sendable {
    public var count: Int
    public var min: Int64
    public var max: Int64
    public var mean: Int64
    public var median: Int64
    public var p95: Int64
    public var p99: Int64

    public init(_ samples: [Int64]) {
        let sorted = samples.sorted()
        count = sorted.count
        guard let first = sorted.first, let last = sorted.last else {
            min = 0; max = 0; mean = 0; median = 0; p95 = 0; p99 = 0
            return
        }
        min = first
        max = last
        mean = sorted.reduce(0, &+) / Int64(sorted.count)
        median = Self.percentile(sorted, 50)
        p95 = Self.percentile(sorted, 95)
        p99 = Self.percentile(sorted, 99)
    }

    public static func percentile(_ sorted: [Int64], _ percent: Int) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = (sorted.count - 1) * percent
        let index = rank / 100
        let remainder = Int64(rank % 100)
        guard index + 1 < sorted.count else { return sorted[index] }
        return sorted[index] + (sorted[index + 1] - sorted[index]) * remainder / 100
    }
}

/// One row of the seed's "VALIDATION CRITERIA" table.
public struct Criterion: Hashable, Sendable {
    public var title: String
    public var expected: String
    public var got: String
    public var passed: Bool
    /// `false` for rows that test a claim rather than a pass criterion of the seed's client;
    /// they are shown but do not decide the overall result.
    public var decides: Bool = true
}

extension Criterion {
    /// The seed client's "Only N successful booking(s)".
    public static func successes(_ got: Int, expected: Int) -> Criterion {
        Criterion(title: "Only \(expected) successful booking\(expected == 1 ? "" : "s")", expected: "\(expected)",
                  got: "\(got)", passed: got == expected)
    }

    /// The seed client's "Correct number of failures".
    public static func failures(_ got: Int, expected: Int) -> Criterion {
        Criterion(title: "Correct number of failures", expected: "\(expected)", got: "\(got)", passed: got == expected)
    }

    /// The seed client's "95th percentile < limit".
    public static func p95(_ latency: LatencyStatistics, under limit: Int64) -> Criterion {
        Criterion(title: "95th percentile < \(formatSeconds(limit))", expected: "< \(formatSeconds(limit))",
                  got: formatSeconds(latency.p95), passed: latency.p95 < limit)
    }
}

/// Everything decided about one run.
public struct RunVerdict: Sendable {
    public var scenario: Scenario
    public var seed: UInt64
    /// What the run showed, from either world.
    public var observation: RunObservation
    /// The simulator's own record of the run (trace, choices, coverage); `nil` for a real run.
    public var simulation: SimulationOutput?
    public var latency: LatencyStatistics
    public var violations: [Violation]
    public var criteria: [Criterion]

    public var passed: Bool { violations.isEmpty }
    /// Every invariant held and every deciding criterion of the seed's client passed.
    public var passedAll: Bool { passed && criteria.allSatisfy { $0.passed || !$0.decides } }
    /// `1 x 201, 30 x 409, 19 x 503`, by status.
    public var statusSummary: String {
        statusCounts.map { "\($0.count) x \($0.status.map(String.init) ?? "no answer")" }.joined(separator: ", ")
    }

    /// The simulator's record, for code that only ever judges simulated runs (sweeps, searches,
    /// shrinking, replays).
    public var simulated: SimulationOutput {
        guard let simulation else { preconditionFailure("a real run has no simulator output; read `observation`") }
        return simulation
    }
    /// `trace hash: ...`: the simulated run's fingerprint, as `run` and `replay` print it.
    public var traceHashLine: String {
        "trace hash: \(hex(simulated.traceHash)) (\(simulated.traceCount) events, \(simulated.steps) steps)"
    }

    public var violatedInvariants: [Invariant] { Array(Set(violations.map(\.invariant))).sorted() }

    /// Status code → count; `nil` key = no answer (timeout or unknown).
    public var statusCounts: [(status: Int?, count: Int)] { Self.countStatuses(observation.outcomes.map(\.status)) }

    static func countStatuses(_ statuses: [Int?]) -> [(status: Int?, count: Int)] {
        var counts: [Int: Int] = [:]
        var unknown = 0
        for status in statuses {
            if let status { counts[status, default: 0] += 1 } else { unknown += 1 }
        }
        var result: [(Int?, Int)] = counts.keys.sorted().map { ($0, counts[$0]!) }
        if unknown > 0 { result.append((nil, unknown)) }
        return result
    }
}

public enum Verdicts {
    /// Runs `scenario` for `seed` with every check on.
    /// `source`: where the run's decisions come from (seeded random from `seed` when `nil`).
    public static func simulate(_ scenario: Scenario, seed: UInt64, options: SimulationOptions = SimulationOptions(),
                                source: (any ChoiceSource)? = nil) -> RunVerdict {
        let monitor = InvariantMonitor(scenario: scenario)
        let output = ScenarioSimulation.run(scenario, seed: seed, options: options, observer: monitor, source: source)
        return judge(scenario: scenario, observation: output.observation, simulation: output, duringRun: monitor.violations)
    }

    /// Judges what a run showed, from either world. `duringRun`: what was seen as it went (the
    /// simulator's commit monitor; a real service that died).
    public static func judge(scenario: Scenario, observation: RunObservation, simulation: SimulationOutput? = nil,
                             duringRun: [Violation]) -> RunVerdict {
        let outcomes = observation.outcomes
        let latency = LatencyStatistics(outcomes.compactMap { $0.status == nil ? nil : $0.latency })
        var violations = duringRun
        for violation in QuiescenceChecks.violations(scenario: scenario, observation: observation, latency: latency) {
            // The monitor already reported a capacity breach the moment it was committed.
            if violation.invariant == .capacity, duringRun.contains(where: { $0.invariant == .capacity }) { continue }
            violations.append(violation)
        }
        violations.sort { ($0.time, $0.invariant) < ($1.time, $1.invariant) }
        return RunVerdict(scenario: scenario, seed: observation.run, observation: observation, simulation: simulation,
                          latency: latency, violations: violations,
                          criteria: criteria(scenario: scenario, outcomes: outcomes, latency: latency))
    }

    /// The seed client's pass criteria, as its README lists them.
    public static func criteria(scenario: Scenario, outcomes: [ClientOutcome], latency: LatencyStatistics) -> [Criterion] {
        let successes = outcomes.filter { $0.status == StatusCode.created }.count
        let failures = outcomes.count - successes
        let timeouts = outcomes.filter { $0.status == nil }.count
        var rows: [Criterion] = []
        if let expected = scenario.expectedSuccesses {
            rows.append(.successes(successes, expected: expected))
            rows.append(.failures(failures, expected: outcomes.count - expected))
            // The seed's README claims every failure is a 409; its client only counted them.
            let conflicts = outcomes.filter { $0.status == StatusCode.conflict }.count
            let others = VerdictText.statusMix(outcomes.filter { $0.status != StatusCode.created && $0.status != StatusCode.conflict })
            rows.append(Criterion(title: "Failures are 409 Conflict (the seed's claim)", expected: "\(outcomes.count - expected) x 409",
                                  got: others.isEmpty ? "\(conflicts) x 409" : "\(conflicts) x 409, \(others)",
                                  passed: conflicts == outcomes.count - expected, decides: false))
        }
        rows.append(.p95(latency, under: scenario.slo.p95.nanoseconds))
        rows.append(Criterion(title: "Average < \(formatSeconds(scenario.slo.mean.nanoseconds))",
                              expected: "< \(formatSeconds(scenario.slo.mean.nanoseconds))", got: formatSeconds(latency.mean),
                              passed: latency.mean < scenario.slo.mean.nanoseconds))
        rows.append(Criterion(title: "No timeouts", expected: "0", got: "\(timeouts)", passed: timeouts == 0))
        return rows
    }
}

enum VerdictText {
    /// `47 x 503, 1 x no answer`: counts by status, most frequent first.
    static func statusMix(_ outcomes: [ClientOutcome]) -> String {
        RunVerdict.countStatuses(outcomes.map(\.status))
            .sorted { $0.count > $1.count }
            .map { "\($0.count) x \($0.status.map(String.init) ?? "no answer")" }
            .joined(separator: ", ")
    }
}
