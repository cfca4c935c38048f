import BookingCore
import Dispatch
import Testing
@testable import Simulation

@Suite struct SimulatorTests {
    @Test func sameSeedSameTraceDifferentSeedDifferentTrace() {
        let scenario = Scenario.seedExperiment()
        for seed: UInt64 in 1...20 {
            let first = ScenarioSimulation.run(scenario, seed: seed)
            let second = ScenarioSimulation.run(scenario, seed: seed)
            #expect(first.traceHash == second.traceHash)
            #expect(first.outcomes == second.outcomes)
        }
        let hashes = Set((1...20).map { ScenarioSimulation.run(scenario, seed: UInt64($0)).traceHash })
        #expect(hashes.count == 20)
    }

    @Test func recordedTraceMatchesHashOnlyRun() {
        let scenario = Scenario.seedExperiment()
        let recorded = ScenarioSimulation.run(scenario, seed: 5, options: SimulationOptions(traceMode: .record, recordChoices: true))
        let plain = ScenarioSimulation.run(scenario, seed: 5)
        #expect(recorded.traceHash == plain.traceHash)
        #expect(recorded.events.count == recorded.traceCount)
        #expect(!recorded.choices.isEmpty)
        #expect(recorded.choices.allSatisfy { $0.width == 0 || ($0.value < $0.width && $0.width > 1) })
        #expect(Set(recorded.choices.map(\.kind)).isSuperset(of: [.schedule, .latency, .name]))
    }

    @Test func aRunIsItsSeedPlusItsChoices() {
        // Replaying the recorded choices (and nothing from the seed) gives the same run.
        let scenario = Scenario.seedExperiment()
        let recorded = ScenarioSimulation.run(scenario, seed: 9, options: SimulationOptions(recordChoices: true))
        let listed = ListedChoices(recorded.choices)
        let replayed = ScenarioSimulation.run(scenario, seed: 12345, options: SimulationOptions(recordChoices: true), source: listed)
        #expect(replayed.traceHash == recorded.traceHash)
        #expect(replayed.choices == recorded.choices)
        #expect(listed.divergence == nil)
        #expect(listed.position == recorded.choices.count && listed.beyondEnd == 0)
    }

    @Test func anExplicitSeededSourceIsTheDefault() {
        let scenario = Scenario.seedExperiment()
        let plain = ScenarioSimulation.run(scenario, seed: 3)
        let explicit = ScenarioSimulation.run(scenario, seed: 3, source: SeededChoices(seed: 3))
        #expect(plain.traceHash == explicit.traceHash)
    }

    @Test func virtualTimeOnlyMovesWhenNothingIsReady() {
        let times = Box<[Int64]>()
        times.value = []
        let (failure, _) = SimulationHarness.run { world in
            let clock = SimClock(simulator: world.simulator, process: SimulationHarness.process(1))
            times.value!.append(clock.now.nanoseconds)
            try? await clock.sleep(for: .seconds(3600))
            times.value!.append(clock.now.nanoseconds)
        }
        #expect(failure == nil)
        #expect(times.value! == [0, 3_600_000_000_000])
    }

    @Test func aJobFromAForeignThreadFailsTheRunLoudly() {
        let parked = Box<UnsafeContinuation<Void, Never>>()
        let (failure, _) = SimulationHarness.run { world in
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await withUnsafeContinuation { parked.value = $0 }
                }
                group.addTask {
                    let clock = SimClock(simulator: world.simulator, process: SimulationHarness.process(2))
                    try? await clock.sleep(for: .milliseconds(1))
                    let resumed = DispatchSemaphore(value: 0)
                    let continuation = parked.value!
                    // Wakes the parked task from another thread, as code that escaped the
                    // simulator through `Task.detached` would.
                    Task.detached {
                        continuation.resume()
                        resumed.signal()
                    }
                    resumed.wait()
                }
            }
        }
        guard case .foreignEnqueue = failure else {
            Issue.record("expected a foreign-enqueue failure, got \(String(describing: failure))")
            return
        }
    }

    @Test func aRunThatCannotFinishIsReportedStuck() {
        let (failure, _) = SimulationHarness.run { world in
            // Parks with nobody to wake it: a lost wake-up.
            await world.simulator.park(SimulationHarness.process(3), "waiting for Godot") { _ in }
        }
        #expect(failure == .stuck(["user-3 at waiting for Godot"]))
    }

    @Test func aRunPastItsBudgetIsStopped() {
        let simulator = Simulator(seed: 1, budget: SimulationBudget(maxSteps: 1000, maxVirtualTime: .seconds(60)))
        let failure = simulator.run({
            let clock = SimClock(simulator: simulator, process: SimulationHarness.process(1))
            while (try? await clock.sleep(for: .seconds(1))) != nil {}
        })
        guard case .budgetExceeded = failure else {
            Issue.record("expected a budget failure, got \(String(describing: failure))")
            return
        }
    }

    @Test func aCrashedProcessIsNeverResumedWhileTheWorldRuns() {
        let log = Box<[String]>()
        log.value = []
        let (failure, _) = SimulationHarness.run { world in
            let victim = SimulationHarness.process(1)
            let clock = SimClock(simulator: world.simulator, process: victim)
            await withDiscardingTaskGroup { group in
                group.addTask {
                    do {
                        try await clock.sleep(for: .seconds(1))
                        log.value!.append("victim woke at \(world.now)")
                    } catch {
                        log.value!.append("victim torn down, sealed: \(world.simulator.sealed)")
                    }
                }
                group.addTask {
                    let observer = SimClock(simulator: world.simulator, process: SimulationHarness.process(2))
                    try? await observer.sleep(for: .milliseconds(500))
                    world.simulator.crash(victim.id)
                    try? await observer.sleep(for: .seconds(5))
                    log.value!.append("observer done at \(world.now)")
                }
            }
        }
        #expect(failure == nil)
        #expect(log.value! == ["observer done at 5500000000", "victim torn down, sealed: true"])
    }

    @Test func redisModelExpiresKeysOnItsOwnClock() {
        let redis = RedisModel()
        #expect(redis.set("k", "a", onlyIfAbsent: true, ttl: 10, now: 0))
        #expect(!redis.set("k", "b", onlyIfAbsent: true, ttl: 10, now: 5))
        #expect(!redis.compareAndDelete("k", token: "b", now: 6))
        #expect(redis.get("k", now: 9) == "a")
        #expect(redis.get("k", now: 10) == nil)
        #expect(redis.set("k", "b", onlyIfAbsent: true, ttl: 10, now: 10))
        redis.clockOffset = 100
        #expect(redis.get("k", now: 11) == nil)
        #expect(redis.increment("fence", now: 0) == 1)
        #expect(redis.increment("fence", now: 0) == 2)
    }
}
