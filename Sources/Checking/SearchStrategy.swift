import BookingCore
import Simulation

/// The model checker's strategies, as `overbook check --strategy` names them.
public enum SearchStrategy: String, CaseIterable, Sendable {
    case exhaustive, pct, random

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
    /// What `overbook check` prints about this counterexample once its schedule file is written.
    public func foundText(schedule path: String, replay: String) -> String {
        """
        \(invariant.rawValue): \(message)
          found in execution \(execution); \(choices.count) choices written to \(path)
          replay: \(replay)
        """
    }
}
