import ArgumentParser
import BookingCore
import RunObservation
import Checking
import Foundation
import Reports
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
        var scheduled: ScheduleFile?
        if let schedule {
            if options.seed != nil || options.variant != nil || options.profile != nil || options.swarm {
                Console.error("--schedule replays the file's own seed, variant and faults; drop --seed, --variant, --profile and --swarm")
                throw ExitCode(2)
            }
            let loaded = try loadSchedule(schedule, base: base)
            scenario = loaded.scenario
            scheduled = loaded.file
            seed = loaded.file.seed
        }
        logInvocation("replay", options, scenario: scenario, seed: seed,
                      extra: (trace.map { ["trace=\($0)"] } ?? []) + (schedule.map { ["schedule=\($0)"] } ?? []))
        if !scenario.faults.isEmpty {
            print("faults in this run's scenario:")
            for fault in scenario.faults { print("  - \(fault)") }
        }
        let (verdict, problems, findings) = Verdicts.replay(scenario, seed: seed, schedule: scheduled, maxSteps: maxSteps)
        problems.forEach(Console.error)
        findings.forEach { print($0) }
        if !verdict.simulated.activeFaults.isEmpty {
            print("active in this run: " + verdict.simulated.activeFaults.map(\.kind.rawValue).joined(separator: ", "))
        }
        let events = verdict.simulated.events
        if let trace {
            try exitingWithStatus2(describing: { "cannot write the trace to \(trace): \($0.localizedDescription)" }) {
                try events.map { $0.jsonLine + "\n" }.joined().write(toFile: trace, atomically: true, encoding: .utf8)
            }
            print("wrote \(events.count) events to \(trace)")
        } else {
            print("\nTIMELINE (virtual time, process, what happened)")
            for event in events { print(event.description) }
        }
        print(SummaryText.render(verdict))
        print(verdict.traceHashLine)
        reportOptions.publisher.single(verdict, replay: options.replay, kind: "replay", schedule: schedule)
        if !verdict.passed { throw ExitCode(1) }
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
        let first = options.seed ?? base.seed
        for offset in 0..<max(0, count) {
            let seed = first &+ UInt64(offset)
            let output = ScenarioSimulation.run(options.scenario(base, seed: seed), seed: seed)
            print("\(seed) \(hex(output.traceHash))")
        }
    }
}
