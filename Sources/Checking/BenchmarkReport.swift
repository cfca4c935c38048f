import BookingCore
import Foundation
import Simulation

extension SimulatorBenchmark {
    /// `overbook bench`: the seed experiment's runs per second (median of three rounds), the cost
    /// per user request at each of `users`, sweep throughput with 1 and 2 jobs over
    /// `sweepSeeds` swarm seeds, and two exhaustive searches. Each line goes to `emit` as soon as
    /// it is measured; `sweep` runs a sweep (the caller adds its progress display); wall time is
    /// read only through `now`.
    public static func report(seconds: Double, users: [Int], sweepSeeds: Int, now: @escaping () -> Double,
                              sweep: (ParallelSweep) -> ParallelSweep.Outcome, emit: (String) -> Void) {
        func measured(_ scenario: Scenario) -> Measurement { measure(scenario, seconds: seconds, now: now) }
        // Three rounds, median reported: the machines here are shared and noisy.
        let rounds = (0..<3).map { _ in measured(Scenario.seedExperiment()) }.sorted { $0.runsPerSecond < $1.runsPerSecond }
        let base = rounds[1]
        emit("\nseed experiment (50 users, all checks on, one core): \(format(base.runsPerSecond)) runs/s median of 3 "
             + "(rounds: \(rounds.map { format($0.runsPerSecond) }.joined(separator: ", ")); "
             + "\(format(base.stepsPerSecond)) steps/s, \(base.steps / max(1, base.runs)) steps/run; a step is a job or a timer)")
        emit("\nusers   runs/s      µs/run      µs/user-request   x vs 50 users")
        var reference: Double?
        for count in users {
            let result = count == 50 ? base : measured(Scenario.seedExperiment(users: count))
            let perUser = result.secondsPerRun / Double(count) * 1e6
            if reference == nil { reference = perUser }
            emit(pad("\(count)", 8) + pad(format(result.runsPerSecond), 12) + pad(format(result.secondsPerRun * 1e6), 12)
                 + pad(String(format: "%.2f", perUser), 18) + String(format: "%.2fx", perUser / (reference ?? perUser)))
        }
        emit("\nsweep throughput (seed experiment, --swarm, seeds 1..\(sweepSeeds), every check on):")
        let seed = Scenario.seedExperiment()
        for jobs in [1, 2] {
            let outcome = sweep(ParallelSweep(seeds: 1...UInt64(max(1, sweepSeeds)), jobs: jobs, stopOn: []) { seedNumber in
                Verdicts.simulate(Swarm.scenario(seed, seed: seedNumber), seed: seedNumber)
            })
            emit(String(format: "  --jobs %d: %.0f seeds/s (%d seeds in %.2f s)", jobs, Double(outcome.batch.runs) / outcome.elapsed,
                        outcome.batch.runs, outcome.elapsed))
        }
        emit("\nexhaustive search (one night, last room, 'choices' faults, at most 2 preemptions):")
        for (variant, users, faults) in [(Variant.seed, 2, 1), (Variant(fixes: [.atomic, .idempotent, .crashSafe]), 3, 2)] {
            let report = exhaustiveSearch(variant, users: users, faults: faults, now: now)
            let found = report.counterexamples.isEmpty ? "none" : report.counterexamples.map(\.invariant.rawValue).joined(separator: ", ")
            emit("  \(variant.rawValue), \(users) users, <= \(faults) fault(s): " + (report.completed ? "completed" : "NOT completed")
                 + String(format: " in %.3f s, %d executions (%.0f/s), %d distinct states", report.seconds, report.executions,
                          Double(report.executions) / max(report.seconds, 1e-9), report.distinctStates)
                 + ", violations: \(found)")
        }
    }

    static func format(_ value: Double) -> String { value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value) }
    static func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
}
