import ArgumentParser
import Checking
import RealHarness

struct RealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "real",
        abstract: "Run a scenario against real Redis, PostgreSQL and the HTTP services.",
        discussion: """
        Starts a throwaway Redis and PostgreSQL (loopback, free ports, a temporary directory) \
        unless all three backend URLs are given; migrates and seeds inventory_db and booking_db; \
        starts the inventory service and the scenario's booking replicas (`overbook serve ...`); \
        sends every user's confirm over HTTP at its arrival time (round-robin over the replicas); \
        then checks the same invariants as `overbook run` against the real databases and Redis. \
        Everything it started is stopped at the end, and on Ctrl-C. Exits 1 if any run violates \
        an invariant or misses the seed's criteria.

        A scenario with faults (or --swarm, or --profile NAME: each run's fault mix drawn from \
        its number, as the simulator draws it from a seed) runs every service hop through a \
        loopback fault proxy and carries the faults out for real, each printed with its \
        mechanism as it fires (SIGSTOP, SIGKILL, drops and delays in the proxies, \
        pg_terminate_backend, a promoted Redis replica...: README.md, "Real mode", has them all); \
        those it cannot carry out faithfully are listed as not injected, with why. A run that \
        breaks a safety invariant keeps its evidence in reports/real-evidence/<scenario>-<variant>-run-N/; \
        --run N --runs K plays run N's draws K times. --schedule FILE follows a simulated \
        counterexample's story on the real stack and says whether its violation is reproduced.

        Then simulates the same scenario for seeds 1..N and writes an HTML report with the real \
        runs and both latency distributions side by side (reports/real-<scenario>-runs-N.html, \
        listed in reports/index.html).

        Examples:
          overbook real scenarios/seed-experiment.yaml
          overbook real scenarios/seed-experiment.yaml --runs 20
          overbook real scenarios/seed-experiment.yaml --variant atomic+idempotent
          overbook real scenarios/seed-experiment.yaml --swarm --runs 20 --variant crash-safe
        """
    )

    @Argument(help: "A scenario file (YAML), e.g. scenarios/seed-experiment.yaml.")
    var scenario: String

    @Option(help: VariantOption.overrideHelp)
    var variant: String?

    @Option(help: "How many times to run the scenario, on databases reset between runs; prints a batch summary.")
    var runs = 1

    @Option(name: .customLong("run"), help: "Play run N's draws (faults, arrivals, request ids) in each of the --runs runs: repeats a failed run.")
    var repeatedRun: UInt64?

    @Option(help: "Booking replicas (default: the scenario's booking_replicas).")
    var replicas: Int?

    @Flag(help: "Draw each run's faults, arrival spread and client timeout from its number (swarm testing, as `run --swarm`).")
    var swarm = false

    @Option(help: "Add a named fault profile to each run, applied for its number as `run --profile` applies it for a seed: \(FaultProfile.all.map(\.name).joined(separator: ", ")).")
    var profile: String?

    /// The profile each run applies for its number (`--swarm` is the swarm profile).
    var faultProfile: FaultProfile? { FaultProfile.selected(profile: profile, swarm: swarm) }

    @Option(help: "Replay this schedule file (written by `check`, `shrink` or `sweep`) on the real stack: its story, forced with barriers at the fault points; says whether its violation is reproduced.")
    var schedule: String?

    @OptionGroup var backends: BackendOptions

    @OptionGroup var reportOptions: ReportOptions

    func validate() throws {
        try refuse(RealExperiment.problem(runs: runs, replicas: replicas, variant: variant, variants: VariantOption.registry, repeatedRun: repeatedRun,
                                                schedule: schedule != nil, swarm: swarm, profile: profile))
    }

    func run() throws {
        if let schedule { return try replaySchedule(schedule) }
        var scenario = try loadScenario(self.scenario)
        if let variant { scenario.variant = try VariantOption.parse(variant) }
        if let replicas { scenario.bookingReplicas = replicas }
        let experiment = RealExperiment(scenarioPath: self.scenario, scenario: scenario, runs: runs, repeatedRun: repeatedRun, profile: faultProfile,
                                        throwawayBackends: backends.locations.noneGiven, variantOption: variant, replicasOption: replicas,
                                        reports: reportOptions.publisher, output: Console.output)
        let passed = try experiment.run {
            try withRealStack(backends.locations, scenarios: [scenario], users: scenario.userCount, armFaults: faultProfile != nil, $0)
        }
        if !passed { throw ExitCode(1) }
    }

    /// `--schedule`: the story of the file's run followed on the real stack `runs` times.
    func replaySchedule(_ path: String) throws {
        let loaded = try loadSchedule(path, base: try loadScenario(scenario))
        let replay = ScheduleReplay(file: loaded.file, scheduled: loaded.scenario, variant: try variant.map { try VariantOption.parse($0) })
        let held = try replay.run(runs, scenarioPath: scenario, schedulePath: path, reports: reportOptions.publisher, output: Console.output) {
            try withRealStack(backends.locations, scenarios: [replay.scenario], users: replay.scenario.userCount, armFaults: true, $0)
        }
        if !held { throw ExitCode(1) }
    }
}
