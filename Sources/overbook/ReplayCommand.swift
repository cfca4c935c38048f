import ArgumentParser
import Checking
import Simulation

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run one seed exactly and show what happened, step by step.",
        discussion: """
        The same scenario and seed give the same run, event for event, in any process: the \
        trace hash printed at the end is the run's fingerprint.

        Examples:
          overbook replay scenarios/seed-experiment.yaml --seed 7
          overbook replay scenarios/seed-experiment.yaml --seed 7 --trace run-7.jsonl
        """
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Write the trace as JSON lines to this file instead of printing the timeline.")
    var trace: String?

    @Option(help: "Stop the run after this many steps (a run that never ends fails as over budget).")
    var maxSteps: Int?

    @Option(help: "Replay this schedule file (written by `check` or `shrink`) exactly: its seed, variant, faults, users and every choice.")
    var schedule: String?

    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        let base = try options.loadBase()
        var seed = options.seed ?? base.seed
        var scenario = options.scenario(base, seed: seed)
        var scheduled: (path: String, file: ScheduleFile)?
        if let schedule {
            if options.seed != nil || options.variant != nil || options.profile != nil || options.swarm {
                Console.error("--schedule replays the file's own seed, variant and faults; drop --seed, --variant, --profile and --swarm")
                throw ExitCode(2)
            }
            let loaded = try loadSchedule(schedule, base: base)
            scenario = loaded.scenario
            scheduled = (schedule, loaded.file)
            seed = loaded.file.seed
        }
        logInvocation("replay", options, scenario: scenario, seed: seed,
                      extra: (trace.map { ["trace=\($0)"] } ?? []) + (schedule.map { ["schedule=\($0)"] } ?? []))
        let passed = try exitingWithStatus2(on: OutputFileError.self) {
            try options.runs(base, reportOptions).replay(scenario, seed: seed, schedule: scheduled, maxSteps: maxSteps, tracePath: trace)
        }
        if !passed { throw ExitCode(1) }
    }
}

struct HashesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashes",
        abstract: "Print each seed's trace hash (for determinism checks across processes).",
        discussion: "Example: overbook hashes scenarios/seed-experiment.yaml --seed 1 --count 1000"
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "How many consecutive seeds.")
    var count: Int = 1

    func run() throws {
        let base = try options.loadBase()
        options.selection.hashes(base, from: options.seed ?? base.seed, count: count) { print($0) }
    }
}
