import ArgumentParser

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
