import ArgumentParser
import BookingCore
import Checking
import RealHarness
import Reports
import Scenarios

struct ScenarioOptions: ParsableArguments {
    @Argument(help: "A scenario file (YAML), e.g. scenarios/seed-experiment.yaml.")
    var scenario: String

    @Option(help: "The (first) seed; defaults to the scenario's `seed`.")
    var seed: UInt64?

    @Option(help: VariantOption.overrideHelp)
    var variant: String?

    @Option(help: "Add a named fault profile: \(FaultProfile.all.map(\.name).joined(separator: ", ")).")
    var profile: String?

    @Flag(help: "Swarm testing: each seed draws its own fault mix, arrival spread and client timeout (same as --profile swarm).")
    var swarm = false

    @Option(help: ArgumentHelp("How the history check reads a 503: unknown (may have taken effect) or no-effect; default: as the variant claims (no-effect for the fixed variants, unknown for the seed).",
                               valueName: "meaning"))
    var unavailableMeans: UnavailableMeaning?

    mutating func validate() throws {
        if let variant { _ = try VariantOption.parse(variant) }
        if let problem = selection.problem { throw ValidationError(problem) }
    }

    var selection: RunSelection {
        RunSelection(scenarioPath: scenario, variant: variant, profile: profile, swarm: swarm, unavailableMeans: unavailableMeans)
    }

    /// The scenario file (or, from a shard file, its recorded `text`) with --variant applied
    /// (before any per-seed profile).
    func loadBase(text: String? = nil) throws -> Scenario {
        var scenario = try text.map { text in
            try exitingWithStatus2(on: ScenarioError.self) { try ScenarioLoader.parse(yaml: text, file: self.scenario) }
        } ?? loadScenario(self.scenario)
        if let variant { scenario.variant = try VariantOption.parse(variant) }
        if let unavailableMeans { scenario.unavailableMeaningOverride = unavailableMeans }
        return scenario
    }

    /// The scenario as it runs for `seed`.
    func scenario(_ base: Scenario, seed: UInt64) -> Scenario { selection.scenario(base, seed: seed) }

    /// The options a shard file recorded, for the scenario file it names.
    static func recorded(_ options: [String: String], scenario: String) throws -> ScenarioOptions {
        try ScenarioOptions.parse([scenario] + RunSelection.arguments(recorded: options))
    }

    /// The runs of `base` these options make, their lines on the terminal and their reports as `reports` asks.
    func runs(_ base: Scenario, _ reports: ReportOptions) -> SimulatedRuns {
        SimulatedRuns(base: base, selection: selection, reports: reports.publisher, output: Console.output, now: wallSeconds())
    }

    /// Failing runs of this scenario file written, reported and shrunk as `check` and `shrink` do.
    func counterexamples(in directory: String, writeReports: Bool) -> Counterexamples {
        Counterexamples(scenarioPath: scenario, directory: directory, writeReports: writeReports, output: Console.output, now: wallSeconds())
    }
}

extension UnavailableMeaning: ExpressibleByArgument {}

/// The VOPR-style first line: the seed and every option, so any output can be reproduced.
func logInvocation(_ command: String, _ options: ScenarioOptions, scenario: Scenario, seed: UInt64, extra: [String] = []) {
    print(invocationLine(command, scenarioPath: options.scenario, scenario: scenario, seed: seed, profile: options.selection.faultProfile?.name, extra: extra))
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

    @OptionGroup var reportOptions: ReportOptions

    mutating func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let base = try options.loadBase()
        let first = options.seed ?? base.seed
        logInvocation("run", options, scenario: base, seed: first, extra: ["runs=\(runs)"])
        if !options.runs(base, reportOptions).run(from: first, count: runs) { throw ExitCode(1) }
    }
}
