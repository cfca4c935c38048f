import ArgumentParser
import BookingCore
import Checking
import Simulation

struct ScenarioOptions: ParsableArguments {
    @Argument(help: "A scenario file (YAML), e.g. scenarios/seed-experiment.yaml.")
    var scenario: String

    @Option(help: "The (first) seed; defaults to the scenario's `seed`.")
    var seed: UInt64?
}

/// The VOPR-style first line: the seed and every option, so any output can be reproduced.
func logInvocation(_ command: String, _ options: ScenarioOptions, scenario: Scenario, seed: UInt64, extra: [String] = []) {
    var fields = ["scenario=\(options.scenario)", "seed=\(seed)", "variant=\(scenario.variant.rawValue)",
                  "users=\(scenario.userCount)", "booking_replicas=\(scenario.bookingReplicas)",
                  "lock_ttl=\(formatSeconds(scenario.lock.ttl.nanoseconds))", "client_timeout=\(formatSeconds(scenario.clientTimeout.nanoseconds))", "faults=\(scenario.faults.count)"]
    fields += extra
    print("overbook \(command): " + fields.joined(separator: " "))
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario in the simulator for one or more consecutive seeds.",
        discussion: """
        Prints the seed client's summary (status distribution, latency in virtual time, pass \
        criteria) and every invariant. Exits 1 if any run violates an invariant, and prints the \
        command that replays the first failing seed.

        Examples:
          overbook run scenarios/seed-experiment.yaml
          overbook run scenarios/seed-experiment.yaml --seed 42
          overbook run scenarios/seed-experiment.yaml --seed 1 --runs 10000
        """
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "How many consecutive seeds to run, starting at --seed.")
    var runs: Int = 1

    mutating func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let scenario = try loadScenario(options.scenario)
        let first = options.seed ?? scenario.seed
        logInvocation("run", options, scenario: scenario, seed: first, extra: ["runs=\(runs)"])
        if runs == 1 {
            let verdict = Verdicts.simulate(scenario, seed: first)
            print(SummaryText.render(verdict))
            print("trace hash: \(hex(verdict.output.traceHash)) (\(verdict.output.traceCount) events, \(verdict.output.steps) steps)")
            try finish(failingSeed: verdict.passed ? nil : first)
            return
        }
        var batch = BatchSummary()
        var meter = ProgressMeter(total: runs, label: "run")
        for offset in 0..<runs {
            batch.add(Verdicts.simulate(scenario, seed: first &+ UInt64(offset)))
            meter.update(done: offset + 1, failures: batch.failedRuns)
        }
        print(SummaryText.render(batch, scenario: scenario, firstSeed: first))
        try finish(failingSeed: batch.firstFailingSeed)
    }

    private func finish(failingSeed: UInt64?) throws {
        guard let seed = failingSeed else { return }
        print("\nReplay the first failing seed with:\n  overbook replay \(shellQuoted(options.scenario)) --seed \(seed)")
        throw ExitCode(1)
    }
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
