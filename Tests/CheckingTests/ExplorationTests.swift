import BookingCore
import Checking
import Simulation
import Testing

/// Exhaustive search, PCT and shrinking: each must find what it claims and replay it exactly.
@Suite struct ExplorationTests {
    /// A step counter standing in for a wall clock: searches here are bounded by work, not time.
    final class FakeClock: @unchecked Sendable {
        var ticks = 0.0
        func now() -> Double { ticks += 0.000_001; return ticks }
    }

    static func smallLastRoom(_ variant: Variant, users: Int) -> Scenario {
        var scenario = VariantTests.lastRoom(variant, users: users)
        scenario.faults = FaultProfile.choiceFaults(scenario)
        return scenario
    }

    @Test func exhaustiveSearchOfTheSeedFindsTheDoubleBookingAndTheInconsistency() {
        let scenario = Self.smallLastRoom(.seed, users: 2)
        let clock = FakeClock()
        let report = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 2))
            .run(budgetSeconds: 1e9, now: clock.now)
        #expect(report.completed)
        #expect(!report.depthLimited)
        let found = Set(report.counterexamples.map(\.invariant))
        #expect(found.contains(.capacity), "lock expiry double booking")
        #expect(found.contains(.inventoryConsistent), "cross-database inconsistency")
        #expect(report.prunedExecutions > 0, "state caching should cut some executions short")
        #expect(report.distinctStates > 0)
        // Every counterexample replays exactly from its choices alone.
        for example in report.counterexamples {
            let again = Shrinker.replay(scenario, seed: 999, choices: example.choices, grouped: true)
            #expect(again.simulated.traceHash == example.traceHash)
            #expect(again.violatedInvariants.contains(example.invariant))
        }
    }

    @Test func withoutPreemptionsTheCrashInconsistencyRemainsButTheRaceNeedsAReordering() {
        // The double booking needs two users' inventory reads to come before either write: a
        // schedule choice. The inconsistency needs only a fault.
        let scenario = Self.smallLastRoom(.seed, users: 2)
        let report = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 0))
            .run(budgetSeconds: 1e9, now: FakeClock().now)
        #expect(report.completed)
        #expect(report.counterexamples.map(\.invariant).contains(.inventoryConsistent))
    }

    /// The worker queues' order is not in the state hash: a scenario with sync workers is
    /// searched without state caching, so no two states are taken for one.
    @Test func syncWorkersTurnStateCachingOff() {
        var scenario = Scenario.seedExperiment(users: 2)
        #expect(SearchBounds(maxFaults: 1).effective(for: scenario).stateCaching)
        scenario.inventoryServing = Serving(workers: 1)
        #expect(!SearchBounds(maxFaults: 1).effective(for: scenario).stateCaching)
        #expect(!ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1)).bounds.stateCaching)
    }

    @Test func stateCachingFindsTheSameViolationsWithFewerExecutions() {
        let scenario = Self.smallLastRoom(.seed, users: 2)
        let cached = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 2))
            .run(budgetSeconds: 1e9, now: FakeClock().now)
        let plain = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 2, stateCaching: false))
            .run(budgetSeconds: 1e9, now: FakeClock().now)
        #expect(cached.completed && plain.completed)
        #expect(Set(cached.counterexamples.map(\.invariant)) == Set(plain.counterexamples.map(\.invariant)))
        #expect(cached.executions < plain.executions)
        #expect(plain.prunedExecutions == 0)
    }

    @Test func exhaustiveSearchOfTheCrashSafeVariantFindsNothing() {
        // The choice faults include the impatient client's retry, which overlaps its first attempt.
        let scenario = Self.smallLastRoom(.init(fixes: [.atomic, .idempotent, .crashSafe]), users: 2)
        #expect(scenario.faults.contains { $0.kind == .clientRetry })
        let report = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 1))
            .run(budgetSeconds: 1e9, now: FakeClock().now)
        #expect(report.completed)
        #expect(report.counterexamples.isEmpty, "\(report.counterexamples.map(\.message))")
    }

    @Test func exhaustiveSearchExploresAnImpatientClientsRetryWhileItsFirstAttemptRuns() {
        // One user, one fault: among the executions is the one where the client gives up early
        // and the same request reaches the booking service while the first attempt is there.
        let scenario = Self.smallLastRoom(.seed, users: 1)
        let search = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1, maxPreemptions: 2))
        var overlapping = 0
        var retried = 0
        search.onExecution = { output in
            if output.coverage[.clientRetried] > 0 { retried += 1 }
            if FaultKindTests.retryOverlapsAnEarlierAttempt(output.events) { overlapping += 1 }
        }
        let report = search.run(budgetSeconds: 1e9, now: FakeClock().now)
        #expect(report.completed)
        #expect(retried > 0)
        #expect(overlapping > 0)
    }

    @Test func pctFindsTheDoubleBookingAndReplays() {
        let profile = FaultProfile.named("pause-past-ttl")!
        let scenario = profile.apply(to: VariantTests.lastRoom(.seed, users: 50), seed: 1)
        let report = RandomizedSearch.run(scenario, strategy: .pct(depth: 3, maxFaults: 4), firstSeed: 1, maxRuns: 1000,
                                          budgetSeconds: 1e9, now: FakeClock().now)
        let example = report.counterexamples.first { $0.invariant == .capacity }
        #expect(example != nil, "PCT should double-book the seed variant within 1000 runs")
        if let example {
            #expect(Shrinker.replay(scenario, seed: 1, choices: example.choices, grouped: true).simulated.traceHash == example.traceHash)
        }
    }

    @Test func pctIsDeterministicPerSeed() {
        let scenario = VariantTests.lastRoom(.seed, users: 10)
        let a = ScenarioSimulation.run(scenario, seed: 4, source: PCTChoices(seed: 4, depth: 3, expectedSteps: 200, expectedFaultDecisions: 1, maxFaults: 0))
        let b = ScenarioSimulation.run(scenario, seed: 4, source: PCTChoices(seed: 4, depth: 3, expectedSteps: 200, expectedFaultDecisions: 1, maxFaults: 0))
        #expect(a.traceHash == b.traceHash)
    }

    @Test func shrinkingASwarmSeedGivesAtMostThreeUsersAndTwoFaults() throws {
        // Seed 13 of the seed experiment under swarm breaks inventory consistency (found by a sweep).
        let swarm = FaultProfile.named("swarm")!
        let scenario = swarm.apply(to: Scenario.seedExperiment(), seed: 13)
        let shrunk = try Shrinker.shrink(scenario, seed: 13, invariant: .inventoryConsistent, budgetSeconds: 1e9, now: FakeClock().now)
        #expect(shrunk.users <= 3)
        #expect(shrunk.faultsFired <= 2)
        #expect(shrunk.choices.count < shrunk.originalChoices)
        // The kept faults name a subsequence of the scenario's specs, and the shrunk run still
        // needs at least one of them to fire.
        #expect(!shrunk.keptFaults.isEmpty)
        #expect(shrunk.keptFaults.allSatisfy { scenario.faults.indices.contains($0) })
        #expect(zip(shrunk.keptFaults, shrunk.keptFaults.dropFirst()).allSatisfy { $0 < $1 })
        #expect(shrunk.faultsFired >= 1)
        var small = scenario
        small.faults = shrunk.keptFaults.map { scenario.faults[$0] }
        let again = Shrinker.replay(small.keepingUsers(shrunk.users), seed: 13, choices: shrunk.choices,
                                    grouped: shrunk.groupsSimultaneousTimers)
        #expect(again.violatedInvariants.contains(.inventoryConsistent))
        #expect(again.simulated.traceHash == shrunk.traceHash)
        #expect(again.simulated.coverage.faultsFired == shrunk.faultsFired)
    }

    @Test func keepingUsersCutsGroupsInOrder() {
        var scenario = VariantTests.lastRoom(.seed, users: 3)
        scenario.users.append(scenario.users[0])
        #expect(scenario.userCount == 6)
        #expect(scenario.keepingUsers(4).userCount == 4)
        #expect(scenario.keepingUsers(4).users.map(\.count) == [3, 1])
    }
}
