import BookingCore

/// What `overbook check` searches for `seed`: the seed's scenario cut to its first `users`
/// users (the strategy's default when not given), with the 'choices' fault menu when faults
/// may fire and no other profile applies; `profile` is the fault profile its schedule files
/// name.
public struct CheckPlan: Sendable {
    public var scenario: Scenario
    public var users: Int
    public var profile: String?

    public init(_ selection: RunSelection, base: Scenario, seed: UInt64, strategy: SearchStrategy, users: Int?, maxFaults: Int) {
        var scenario = selection.scenario(base, seed: seed)
        let keep = users ?? strategy.defaultUsers(of: scenario)
        scenario = scenario.keepingUsers(keep)
        if maxFaults > 0 && selection.faultProfile == nil, let choices = FaultProfile.named("choices") {
            scenario = choices.apply(to: scenario, seed: seed)
        }
        (self.scenario, self.users, profile) = (scenario, keep, selection.faultProfile?.name ?? (maxFaults > 0 ? "choices" : nil))
    }

    /// A warning before an exhaustive search of many users, which may not finish in `budget` seconds.
    public func warning(strategy: SearchStrategy, budget: Double) -> String? {
        guard strategy == .exhaustive && scenario.userCount > 4 else { return nil }
        return "exhaustive search of \(scenario.userCount) users: the executions grow quickly with each user; "
            + "--budget (\(Int(budget)) s) bounds it, and the summary says whether it completed"
    }
}

extension CheckPlan {
    /// What is wrong with `overbook check`'s bounds and budget, in the options' words; `nil` if nothing.
    public static func problem(users: Int?, maxFaults: Int, preemptions: Int, maxDepth: Int, depth: Int, budget: Double) -> String? {
        if let users, users < 1 { return "--users must be at least 1" }
        guard maxFaults >= 0, preemptions >= 0, maxDepth >= 1, depth >= 1 else {
            return "--max-faults and --preemptions must be >= 0, --depth and --max-depth >= 1"
        }
        guard budget > 0 else { return "--budget must be positive (seconds)" }
        return nil
    }
}
