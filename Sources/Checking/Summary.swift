import BookingCore
import RunObservation
import Simulation

/// The figures of many runs of one scenario, gathered seed by seed.
public struct BatchSummary: Sendable {
    public private(set) var runs = 0
    public private(set) var failedRuns = 0
    /// Runs that broke a safety invariant (every one but the latency objectives).
    public private(set) var unsafeRuns = 0
    /// Status → requests over all runs; `nil` = no answer.
    public private(set) var statusTotals: [Int?: Int] = [:]
    /// Number of 201s in a run → how many runs had it.
    public private(set) var successesPerRun: [Int: Int] = [:]
    /// How many runs had each number of 503 answers.
    public private(set) var unavailablePerRun: [Int: Int] = [:]
    public private(set) var latencies: [Int64] = []
    public private(set) var worstRunP95: (seed: UInt64, p95: Int64)?
    /// Invariant → (failing runs, first failing seed, its first violation).
    public private(set) var failures: [Invariant: (count: Int, firstSeed: UInt64, example: Violation)] = [:]
    /// Criterion title → runs where it passed.
    public private(set) var criteriaPassed: [String: Int] = [:]
    public private(set) var criteriaOrder: [String] = []
    public private(set) var firstFailingSeed: UInt64?
    public private(set) var steps = 0
    public private(set) var coverage = Coverage()
    /// Fault kinds active in at least one run, with how many runs.
    public private(set) var activeFaultRuns: [FaultKind: Int] = [:]

    public init() {}

    /// Seeds `first`, `first + 1`, ... (`count` of them) one after another on this thread;
    /// `progress(done, failures)` after each.
    public static func consecutive(from first: UInt64, count: Int, verdict: (UInt64) -> RunVerdict,
                                   progress: (_ done: Int, _ failures: Int) -> Void) -> BatchSummary {
        var batch = BatchSummary()
        for offset in 0..<count {
            batch.add(verdict(first &+ UInt64(offset)))
            progress(offset + 1, batch.failedRuns)
        }
        return batch
    }

    public mutating func add(_ verdict: RunVerdict) {
        runs += 1
        if let simulation = verdict.simulation {
            steps += simulation.steps
            coverage.merge(simulation.coverage)
            for kind in Set(simulation.activeFaults.map(\.kind)) { activeFaultRuns[kind, default: 0] += 1 }
        }
        for (status, count) in verdict.statusCounts { statusTotals[status, default: 0] += count }
        let successes = verdict.observation.outcomes.filter { $0.status == StatusCode.created }.count
        successesPerRun[successes, default: 0] += 1
        unavailablePerRun[verdict.observation.outcomes.filter { $0.status == StatusCode.serviceUnavailable }.count, default: 0] += 1
        latencies.append(contentsOf: verdict.observation.outcomes.compactMap { $0.status == nil ? nil : $0.latency })
        noteWorst(seed: verdict.seed, p95: verdict.latency.p95)
        for criterion in verdict.criteria {
            if criteriaPassed[criterion.title] == nil { criteriaOrder.append(criterion.title); criteriaPassed[criterion.title] = 0 }
            if criterion.passed { criteriaPassed[criterion.title]! += 1 }
        }
        guard !verdict.passed else { return }
        failedRuns += 1
        if !safetyInvariants.isDisjoint(with: verdict.violatedInvariants) { unsafeRuns += 1 }
        firstFailingSeed = min(firstFailingSeed ?? verdict.seed, verdict.seed)
        for invariant in verdict.violatedInvariants {
            let example = verdict.violations.first { $0.invariant == invariant }!
            noteFailure(invariant, count: 1, seed: verdict.seed, example: example)
        }
    }

    private mutating func noteWorst(seed: UInt64, p95: Int64) {
        // Highest p95 wins; on a tie, the lower seed.
        if let worst = worstRunP95, worst.p95 > p95 || (worst.p95 == p95 && worst.seed < seed) { return }
        worstRunP95 = (seed, p95)
    }

    private mutating func noteFailure(_ invariant: Invariant, count: Int, seed: UInt64, example: Violation) {
        if let existing = failures[invariant] {
            let earlier = seed < existing.firstSeed
            failures[invariant] = (existing.count + count, earlier ? seed : existing.firstSeed, earlier ? example : existing.example)
        } else {
            failures[invariant] = (count, seed, example)
        }
    }

    /// Folds another part of a sweep in. The result does not depend on how seeds were split
    /// between parts or in which order parts arrive: counts add, "first" means lowest seed.
    public mutating func merge(_ other: BatchSummary) {
        runs += other.runs
        failedRuns += other.failedRuns
        unsafeRuns += other.unsafeRuns
        steps += other.steps
        coverage.merge(other.coverage)
        for (kind, count) in other.activeFaultRuns { activeFaultRuns[kind, default: 0] += count }
        for (status, count) in other.statusTotals { statusTotals[status, default: 0] += count }
        for (successes, count) in other.successesPerRun { successesPerRun[successes, default: 0] += count }
        for (unavailable, count) in other.unavailablePerRun { unavailablePerRun[unavailable, default: 0] += count }
        latencies.append(contentsOf: other.latencies)
        if let worst = other.worstRunP95 { noteWorst(seed: worst.seed, p95: worst.p95) }
        for title in other.criteriaOrder where criteriaPassed[title] == nil {
            criteriaOrder.append(title)
            criteriaPassed[title] = 0
        }
        for (title, passed) in other.criteriaPassed { criteriaPassed[title, default: 0] += passed }
        if let seed = other.firstFailingSeed { firstFailingSeed = min(firstFailingSeed ?? seed, seed) }
        for (invariant, failure) in other.failures {
            noteFailure(invariant, count: failure.count, seed: failure.firstSeed, example: failure.example)
        }
    }
}

/// Where a run's figures come from. Only the headings differ: virtual time and seeds for the
/// simulator, wall-clock time and run numbers for the real servers (`overbook real`).
public enum RunOrigin: Sendable {
    case simulated
    case real
}

/// Text in the seed client's layout (`concurrent_booking_test.py`), so that its users find
/// every figure where they expect it.
public enum SummaryText {
    static let rule = String(repeating: "=", count: 80)

    static func section(_ title: String) -> String { "\n\(rule)\n\(title)\n\(rule)\n" }

    public static func statusLine(_ status: Int?, _ count: Int) -> String {
        let name = status.map(String.init) ?? "no answer (timeout)"
        return "  \(name): \(count) requests"
    }

    /// One run, as the seed's test prints it, plus the invariants it never checked.
    public static func render(_ verdict: RunVerdict, header: Bool = true, origin: RunOrigin = .simulated) -> String {
        let scenario = verdict.scenario
        let outcomes = verdict.observation.outcomes
        var text = ""
        if header {
            text += section(origin == .real ? "CONCURRENT BOOKING TEST (real servers, run \(verdict.seed))"
                                            : "CONCURRENT BOOKING TEST (simulated, seed \(verdict.seed))")
            let stays = Array(Set(outcomes.map(\.stay.description))).sorted()
            text += "Scenario: \(scenario.name)\nVariant: \(scenario.variant.rawValue)\n"
            text += "Stays: \(stays.joined(separator: "; "))\nConcurrent Users: \(outcomes.count)\n"
        }
        text += section("TEST RESULTS ANALYSIS")
        let successes = outcomes.filter { $0.status == StatusCode.created }.count
        text += "\nTotal Requests: \(outcomes.count)\nSuccessful Bookings (201): \(successes)\nFailed Bookings: \(outcomes.count - successes)\n"
        text += "\nStatus Code Distribution:\n"
        for (status, count) in verdict.statusCounts { text += statusLine(status, count) + "\n" }
        text += section(origin == .real ? "PERFORMANCE METRICS (wall-clock time)" : "PERFORMANCE METRICS (virtual time)")
        text += "\nTotal Test Duration: \(formatSeconds(verdict.observation.quiescent.time))\n"
        text += latencyBlock(verdict.latency)
        text += criteriaBlock(verdict.criteria.map { ($0, $0.passed ? "PASS" : $0.decides ? "FAIL" : "FAIL (claim, not a pass criterion)") })
        text += invariantBlock(violations: verdict.violations)
        text += section("OVERALL RESULT: \(verdict.passedAll ? "✓ PASS" : "✗ FAIL")")
        return text
    }

    /// The seed client's "Response Time Statistics" block; `overbook load` prints it too.
    public static func latencyBlock(_ latency: LatencyStatistics) -> String {
        """

        Response Time Statistics:
          Min: \(formatSeconds(latency.min))
          Max: \(formatSeconds(latency.max))
          Average: \(formatSeconds(latency.mean))
          Median: \(formatSeconds(latency.median))
          95th Percentile: \(formatSeconds(latency.p95))
          99th Percentile: \(formatSeconds(latency.p99))

        """
    }

    static func criteriaBlock(_ rows: [(Criterion, String)]) -> String {
        var text = section("VALIDATION CRITERIA")
        for (criterion, result) in rows {
            text += "\n\(result == "PASS" ? "✓" : "✗") \(criterion.title): \(result)\n  Expected: \(criterion.expected), Got: \(criterion.got)\n"
        }
        return text
    }

    static func invariantBlock(violations: [Violation]) -> String {
        var text = section("INVARIANTS (checked during the run and at quiescence)")
        let broken = Set(violations.map(\.invariant))
        for invariant in Invariant.allCases {
            text += "\(broken.contains(invariant) ? "✗" : "✓") \(invariant.title): \(broken.contains(invariant) ? "FAIL" : "PASS")\n"
        }
        for violation in violations.prefix(20) { text += "  - \(violation)\n" }
        if violations.count > 20 { text += "  ... and \(violations.count - 20) more\n" }
        return text
    }

    /// Many seeds: totals, pooled latency, criteria and invariants by how many runs kept them.
    public static func render(_ batch: BatchSummary, scenario: Scenario, firstSeed: UInt64, origin: RunOrigin = .simulated) -> String {
        let real = origin == .real
        let seedWord = real ? "run" : "seed"
        var text = section("\(real ? "REAL RUNS" : "SIMULATED RUNS"): \(scenario.name), \(seedWord)s \(firstSeed)..\(firstSeed &+ UInt64(batch.runs) &- 1) (\(batch.runs) runs)")
        let requests = batch.statusTotals.values.reduce(0, +)
        text += "\nTotal Requests: \(requests) (\(batch.runs) runs x \(scenario.userCount) users)\n\nStatus Code Distribution (all runs):\n"
        let order = batch.statusTotals.keys.sorted { ($0 ?? Int.max) < ($1 ?? Int.max) }
        for status in order { text += statusLine(status, batch.statusTotals[status]!) + "\n" }
        text += "\nSuccessful bookings per run:\n"
        for successes in batch.successesPerRun.keys.sorted() {
            text += "  \(successes) x 201: \(batch.successesPerRun[successes]!) runs\n"
        }
        text += "\n503 answers per run:\n  " + batch.unavailablePerRun.keys.sorted()
            .map { "\($0) x 503: \(batch.unavailablePerRun[$0]!) run\(batch.unavailablePerRun[$0]! == 1 ? "" : "s")" }.joined(separator: ", ") + "\n"
        text += section("PERFORMANCE METRICS (\(real ? "wall-clock" : "virtual") time, all answered requests pooled)")
        text += latencyBlock(LatencyStatistics(batch.latencies))
        if let worst = batch.worstRunP95 { text += "  Worst run p95: \(formatSeconds(worst.p95)) (\(seedWord) \(worst.seed))\n" }
        text += section("VALIDATION CRITERIA (runs that passed each)")
        for title in batch.criteriaOrder {
            let passed = batch.criteriaPassed[title] ?? 0
            text += "\(passed == batch.runs ? "✓" : "✗") \(title): \(passed)/\(batch.runs) runs\n"
        }
        text += section("INVARIANTS (runs that kept each)")
        for invariant in Invariant.allCases {
            if let failure = batch.failures[invariant] {
                text += "✗ \(invariant.title): \(batch.runs - failure.count)/\(batch.runs) runs; first failing \(seedWord) \(failure.firstSeed)\n    \(failure.example)\n"
            } else {
                text += "✓ \(invariant.title): \(batch.runs)/\(batch.runs) runs\n"
            }
        }
        // Real runs inject no faults and mark no paths.
        if !real { text += coverageBlock(batch) }
        text += section("OVERALL RESULT: \(batch.failedRuns == 0 ? "✓ all invariants held in every run" : "✗ \(batch.failedRuns) of \(batch.runs) runs violated an invariant")")
        if batch.failedRuns > 0 {
            text += batch.unsafeRuns == 0
                ? "Safety (every invariant but the latency objectives): ✓ held in every run\n"
                : "Safety (every invariant but the latency objectives): ✗ broken in \(batch.unsafeRuns) of \(batch.runs) runs\n"
        }
        return text
    }

    /// Which fault kinds were active, and which rare paths the runs reached (and never reached).
    public static func coverageBlock(_ batch: BatchSummary) -> String {
        var text = section("COVERAGE (runs with each fault kind active; paths reached)")
        if batch.activeFaultRuns.isEmpty {
            text += "No fault was active in any run.\n"
        } else {
            for kind in FaultKind.allCases {
                text += "  \(kind.rawValue): active in \(batch.activeFaultRuns[kind] ?? 0) runs\n"
            }
        }
        text += "\nCoverage marks (times reached):\n"
        let marks = CoverageMark.allCases
        for mark in marks where batch.coverage[mark] > 0 { text += "  \(mark.rawValue): \(batch.coverage[mark])\n" }
        let never = marks.filter { batch.coverage[$0] == 0 }
        text += never.isEmpty ? "\nEvery coverage mark was reached.\n" : "\nNever reached:\n" + never.map { "  - \($0.rawValue)\n" }.joined()
        return text
    }
}

/// A sweep's summary as a shard file holds it (`sweep --output`, `overbook merge`): every
/// table as a list sorted by its key, so the same summary is always the same bytes.
extension BatchSummary: Codable {
    private enum CodingKeys: String, CodingKey {
        case runs, failedRuns = "failed_runs", unsafeRuns = "unsafe_runs", statusTotals = "status_totals"
        case successesPerRun = "successes_per_run", unavailablePerRun = "unavailable_per_run", latencies
        case worstRunP95 = "worst_run_p95", failures, criteria, firstFailingSeed = "first_failing_seed", steps, coverage
        case activeFaultRuns = "active_fault_runs"
    }

    struct Tally<Key: Codable & Sendable>: Codable, Sendable {
        var key: Key
        var runs: Int
    }

    struct Worst: Codable, Sendable {
        var seed: UInt64
        var p95: Int64
    }

    struct Failure: Codable, Sendable {
        var invariant: Invariant
        var runs: Int
        var firstSeed: UInt64
        var example: Violation
        enum CodingKeys: String, CodingKey { case invariant, runs, firstSeed = "first_seed", example }
    }

    struct CriterionTally: Codable, Sendable {
        var title: String
        var passed: Int
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(failedRuns, forKey: .failedRuns)
        try container.encode(unsafeRuns, forKey: .unsafeRuns)
        // `null` status (no answer) sorts last.
        try container.encode(statusTotals.sorted { ($0.key ?? .max) < ($1.key ?? .max) }.map { Tally(key: $0.key, runs: $0.value) }, forKey: .statusTotals)
        try container.encode(successesPerRun.sorted { $0.key < $1.key }.map { Tally(key: $0.key, runs: $0.value) }, forKey: .successesPerRun)
        try container.encode(unavailablePerRun.sorted { $0.key < $1.key }.map { Tally(key: $0.key, runs: $0.value) }, forKey: .unavailablePerRun)
        try container.encode(latencies.sorted(), forKey: .latencies)
        try container.encodeIfPresent(worstRunP95.map { Worst(seed: $0.seed, p95: $0.p95) }, forKey: .worstRunP95)
        try container.encode(failures.sorted { $0.key < $1.key }.map {
            Failure(invariant: $0.key, runs: $0.value.count, firstSeed: $0.value.firstSeed, example: $0.value.example)
        }, forKey: .failures)
        try container.encode(criteriaOrder.map { CriterionTally(title: $0, passed: criteriaPassed[$0] ?? 0) }, forKey: .criteria)
        try container.encodeIfPresent(firstFailingSeed, forKey: .firstFailingSeed)
        try container.encode(steps, forKey: .steps)
        try container.encode(coverage, forKey: .coverage)
        try container.encode(activeFaultRuns.sorted { $0.key < $1.key }.map { Tally(key: $0.key, runs: $0.value) }, forKey: .activeFaultRuns)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runs = try container.decode(Int.self, forKey: .runs)
        failedRuns = try container.decode(Int.self, forKey: .failedRuns)
        unsafeRuns = try container.decode(Int.self, forKey: .unsafeRuns)
        statusTotals = Dictionary(try container.decode([Tally<Int?>].self, forKey: .statusTotals).map { ($0.key, $0.runs) }, uniquingKeysWith: +)
        successesPerRun = Dictionary(try container.decode([Tally<Int>].self, forKey: .successesPerRun).map { ($0.key, $0.runs) }, uniquingKeysWith: +)
        unavailablePerRun = Dictionary(try container.decode([Tally<Int>].self, forKey: .unavailablePerRun).map { ($0.key, $0.runs) }, uniquingKeysWith: +)
        latencies = try container.decode([Int64].self, forKey: .latencies)
        worstRunP95 = try container.decodeIfPresent(Worst.self, forKey: .worstRunP95).map { ($0.seed, $0.p95) }
        failures = Dictionary(try container.decode([Failure].self, forKey: .failures).map { ($0.invariant, ($0.runs, $0.firstSeed, $0.example)) },
                              uniquingKeysWith: { first, _ in first })
        let criteria = try container.decode([CriterionTally].self, forKey: .criteria)
        criteriaOrder = criteria.map(\.title)
        criteriaPassed = Dictionary(criteria.map { ($0.title, $0.passed) }, uniquingKeysWith: +)
        firstFailingSeed = try container.decodeIfPresent(UInt64.self, forKey: .firstFailingSeed)
        steps = try container.decode(Int.self, forKey: .steps)
        coverage = try container.decode(Coverage.self, forKey: .coverage)
        activeFaultRuns = Dictionary(try container.decode([Tally<FaultKind>].self, forKey: .activeFaultRuns).map { ($0.key, $0.runs) }, uniquingKeysWith: +)
    }
}
