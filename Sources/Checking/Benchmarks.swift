import BookingCore
import Simulation

/// The simulator's own throughput figures (`overbook bench`). Wall time is read only through
/// the injected `now` (seconds), as everywhere in this module.
public enum SimulatorBenchmark {
    /// Figures from a debug build mislead; the benchmarks say so first.
    public static var debugBuildWarning: String? {
        #if DEBUG
        "warning: this is a debug build; figures are not representative (use swift build -c release)"
        #else
        nil
        #endif
    }

    /// Runs of one scenario, all checks on, for consecutive seeds.
    public struct Measurement: Sendable {
        public var runs: Int
        public var steps: Int
        public var seconds: Double
        public var runsPerSecond: Double { Double(runs) / seconds }
        public var secondsPerRun: Double { seconds / Double(runs) }
        public var stepsPerSecond: Double { Double(steps) / seconds }
    }

    /// Seeds 1, 2, ... of `scenario` until `seconds` have passed. Every run must pass: a
    /// benchmark of a failing scenario measures the failure path, not the simulator.
    public static func measure(_ scenario: Scenario, seconds: Double, now: () -> Double) -> Measurement {
        let start = now()
        var runs = 0
        var steps = 0
        var seed: UInt64 = 1
        repeat {
            let verdict = Verdicts.simulate(scenario, seed: seed)
            precondition(verdict.passed, "seed \(seed) violated an invariant during the benchmark")
            steps += verdict.simulated.steps
            runs += 1
            seed += 1
        } while now() - start < seconds
        return Measurement(runs: runs, steps: steps, seconds: now() - start)
    }

    /// The exhaustive-search throughput case: one night, the last room, `users` users arriving
    /// together, the `choices` faults, at most `faults` of them and 2 preemptions.
    public static func exhaustiveSearch(_ variant: Variant, users: Int, faults: Int, now: @escaping () -> Double) -> SearchReport {
        var scenario = Scenario(name: "last-room-one-night", variant: variant,
                                rooms: [RoomSpec(id: RoomID(1), name: "Standard Single", capacity: 1)],
                                users: [UserGroup(count: users, stay: Stay(room: RoomID(1), checkIn: Night(year: 2026, month: 3, day: 15)!,
                                                                           checkOut: Night(year: 2026, month: 3, day: 16)!)!,
                                                  arrival: .at(.zero))])
        scenario.faults = FaultProfile.choiceFaults(scenario)
        return ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: faults, maxPreemptions: 2))
            .run(budgetSeconds: 600, now: now)
    }
}
