import Foundation
import ArgumentParser
import BookingCore
import Checking
import Simulation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure simulator throughput (build with -c release for real figures).",
        discussion: """
        Prints seed-experiment runs per second on one core with every check on, and the cost per \
        user request at 50, 500 and 5,000 users.

        Example:
          swift build -c release && .build/release/overbook bench
        """
    )

    @Option(help: "Wall-clock seconds to spend on each measurement.")
    var seconds: Double = 3

    @Option(parsing: .upToNextOption, help: "User counts for the per-user cost table.")
    var users: [Int] = [50, 500, 5000]

    @Option(help: "Seeds per sweep-throughput measurement (swarm mode, seed experiment).")
    var sweepSeeds: Int = 2000

    func run() throws {
        warnIfDebugBuild()
        print("overbook bench: seconds=\(seconds) users=\(users.map(String.init).joined(separator: ","))")
        // Three rounds, median reported: the machines here are shared and noisy.
        let rounds = (0..<3).map { _ in measure(Scenario.seedExperiment()) }.sorted { $0.runsPerSecond < $1.runsPerSecond }
        let base = rounds[1]
        print("\nseed experiment (50 users, all checks on, one core): \(format(base.runsPerSecond)) runs/s median of 3 "
              + "(rounds: \(rounds.map { format($0.runsPerSecond) }.joined(separator: ", ")); "
              + "\(format(base.stepsPerSecond)) steps/s, \(base.steps / max(1, base.runs)) steps/run; a step is a job or a timer)")
        print("\nusers   runs/s      µs/run      µs/user-request   x vs 50 users")
        var reference: Double?
        for count in users {
            let result = count == 50 ? base : measure(Scenario.seedExperiment(users: count))
            let perUser = result.secondsPerRun / Double(count) * 1e6
            if reference == nil { reference = perUser }
            print(pad("\(count)", 8) + pad(format(result.runsPerSecond), 12) + pad(format(result.secondsPerRun * 1e6), 12)
                  + pad(String(format: "%.2f", perUser), 18) + String(format: "%.2fx", perUser / (reference ?? perUser)))
        }
        print("\nsweep throughput (seed experiment, --swarm, seeds 1..\(sweepSeeds), every check on):")
        let seed = Scenario.seedExperiment()
        for jobs in [1, 2] {
            let sweep = ParallelSweep(seeds: 1...UInt64(max(1, sweepSeeds)), jobs: jobs, stopOn: []) { seedNumber in
                Verdicts.simulate(Swarm.scenario(seed, seed: seedNumber), seed: seedNumber)
            }
            let outcome = sweep.run(label: "bench sweep")
            print(String(format: "  --jobs %d: %.0f seeds/s (%d seeds in %.2f s)", jobs, Double(outcome.batch.runs) / outcome.elapsed,
                         outcome.batch.runs, outcome.elapsed))
        }
        print("\nexhaustive search (one night, last room, 'choices' faults, at most 2 preemptions):")
        for (variant, users, faults) in [(Variant.seed, 2, 1), (Variant(fixes: [.atomic, .idempotent, .crashSafe]), 3, 2)] {
            let report = SimulatorBenchmark.exhaustiveSearch(variant, users: users, faults: faults, now: wallSeconds())
            let found = report.counterexamples.isEmpty ? "none" : report.counterexamples.map(\.invariant.rawValue).joined(separator: ", ")
            print("  \(variant.rawValue), \(users) users, <= \(faults) fault(s): " + (report.completed ? "completed" : "NOT completed")
                  + String(format: " in %.3f s, %d executions (%.0f/s), %d distinct states", report.seconds, report.executions,
                           Double(report.executions) / max(report.seconds, 1e-9), report.distinctStates)
                  + ", violations: \(found)")
        }
    }

    func measure(_ scenario: Scenario) -> SimulatorBenchmark.Measurement {
        SimulatorBenchmark.measure(scenario, seconds: seconds, now: wallSeconds())
    }

    func format(_ value: Double) -> String { value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value) }
    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
}
