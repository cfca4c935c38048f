import BookingCore
import RunObservation
import Simulation

/// The model checker's strategies, as `overbook check --strategy` names them.
public enum SearchStrategy: String, CaseIterable, Sendable {
    case exhaustive, pct, random

    /// What the strategy does and promises, as `overbook check --help` explains it.
    public var summary: String {
        switch self {
        case .exhaustive:
            "Every execution within the bounds, depth first, by re-execution. Faults are choices (fire here or not, at most "
                + "--max-faults per execution); schedule choices that depart from the default order are bounded by --preemptions; "
                + "latencies take their minimum. States are cached: at each decision the world's state hash (Redis and both "
                + "databases, committed and pending rows, timers, parked and ready tasks, each task's observations so far) is "
                + "looked up, and an execution that reaches a state already explored stops there. Prints whether the search "
                + "completed, executions, distinct states and time. Meant for 2 to 4 users."
        case .pct:
            "Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010). Each user gets a random priority, the "
                + "highest-priority ready user runs, and at d-1 random steps (--depth d) the running user drops below all others; "
                + "at most --max-faults faults fire, at decisions drawn uniformly. Guarantee: a bug of depth d among n users and "
                + "k steps is found by each run with probability at least 1/(n * k^(d-1)), so about n * k^(d-1) runs find it "
                + "with probability 1 - 1/e."
        case .random:
            "Seeded random runs (seeds from --seed on), as `sweep` does."
        }
    }

    /// `summary` under the strategy's name, indented as a help text lists them.
    public var helpParagraph: String {
        "  " + rawValue + String(repeating: " ", count: max(1, 12 - rawValue.count)) + summary
    }

    /// How many of the scenario's users a search keeps by default: an exhaustive search of more
    /// than a few users does not finish.
    public func defaultUsers(of scenario: Scenario) -> Int {
        self == .exhaustive ? min(2, scenario.userCount) : scenario.userCount
    }

    /// Searches `scenario` within `bounds` until done, `budgetSeconds` (wall time, read through
    /// the injected `now`) or, for pct and random with `stopAtFirst`, the first violation.
    /// `depth`: PCT's bug depth; `firstSeed` and `maxRuns`: pct's and random's runs;
    /// `progress(executions, distinctStates)`: the exhaustive search's.
    public func search(_ scenario: Scenario, bounds: SearchBounds, depth: Int, firstSeed: UInt64, maxRuns: Int,
                       budgetSeconds: Double, stopAtFirst: Bool, now: () -> Double,
                       progress: (_ executions: Int, _ distinctStates: Int) -> Void) -> SearchReport {
        switch self {
        case .exhaustive:
            return ExhaustiveSearch(scenario: scenario, bounds: bounds).run(budgetSeconds: budgetSeconds, stopAtFirst: false,
                                                                            now: now, progress: progress)
        case .pct:
            return RandomizedSearch.run(scenario, strategy: .pct(depth: depth, maxFaults: bounds.maxFaults), firstSeed: firstSeed,
                                        maxRuns: maxRuns, budgetSeconds: budgetSeconds, stopAtFirst: stopAtFirst, now: now)
        case .random:
            return RandomizedSearch.run(scenario, strategy: .random, firstSeed: firstSeed, maxRuns: maxRuns,
                                        budgetSeconds: budgetSeconds, stopAtFirst: stopAtFirst, now: now)
        }
    }
}

extension Counterexample {
    /// The schedule file that replays this counterexample of a search of the scenario file at
    /// `scenarioPath`: run for `seed` with `variant`, fault `profile` (or `swarm`) and the
    /// scenario's first `users` users.
    public func schedule(scenarioPath: String, seed: UInt64, variant: Variant, profile: String?, swarm: Bool, users: Int) -> ScheduleFile {
        ScheduleFile(scenario: scenarioPath, seed: seed, variant: variant.rawValue, profile: profile, swarm: swarm, users: users,
                     violates: invariant.rawValue, traceHash: hex(traceHash), groupsSimultaneousTimers: groupsSimultaneousTimers,
                     choices: choices)
    }

    /// What `overbook check` prints about this counterexample once its schedule file is written.
    public func foundText(schedule path: String, replay: String) -> String {
        """
        \(invariant.rawValue): \(message)
          found in execution \(execution); \(choices.count) choices written to \(path)
          replay: \(replay)
        """
    }
}
