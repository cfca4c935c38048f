import ArgumentParser
import Checking
import RealHarness

struct RealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "real",
        abstract: "Run a scenario against real Redis, PostgreSQL and the HTTP services.",
        discussion: """
        Starts a throwaway Redis and PostgreSQL (loopback, free ports, a temporary directory) \
        unless all three backend URLs are given; creates, migrates and seeds inventory_db and \
        booking_db; starts the inventory service and the scenario's booking replicas as child \
        processes (`overbook serve ...`); sends every user's confirm over HTTP at its arrival \
        time (round-robin over the replicas); then checks the same invariants as `overbook run` \
        against the real databases and Redis and prints the same summary, with wall-clock \
        latencies. Everything it started is stopped at the end, and on Ctrl-C. Exits 1 if any run \
        violates an invariant or misses the seed's criteria.

        A scenario with faults runs every service hop (booking to Redis, to booking_db and to \
        inventory; inventory to inventory_db) through a loopback fault proxy and carries the \
        faults out for real, each printed as it fires: pause = SIGSTOP/SIGCONT of the replica, \
        crash = SIGKILL and a fresh process on the same port, latency-spike / request-loss / \
        reply-loss / partition in the proxies, redis-restart = the throwaway redis-server killed \
        and restarted empty, connection-loss = pg_terminate_backend of the target's backends, \
        per-statement postgres-abort / connection-loss / statement-timeout (a ratio) = drawn per \
        SQL statement in the target service's pool and carried out by PostgreSQL in that \
        statement's session (RAISE ... ERRCODE 40001/40P01, the backend terminating itself, \
        statement_timeout for that statement), \
        client-retry = the driver re-sends the same body, redis-failover = a second \
        redis-server, fed through a link that holds replication back by the fault's duration, \
        promoted and the replicas' Redis proxies redirected to it, redis-clock-jump = an \
        emulation (every key's TTL shortened by the jump at once); a pause, crash, failover or \
        clock jump at a fault point is armed through the service's --fault-control (it stops \
        itself, exits, or waits, there), as are a connection-loss (its backends are terminated \
        while it waits) and a postgres-abort (its next statement in a transaction aborts). Faults it cannot carry out faithfully (per-call pauses \
        and crashes) are listed as not injected, with why. \
        --swarm draws each run's fault mix from its number, as the simulator's --swarm does \
        from a seed (real run N meets the faults of `overbook replay SCENARIO --swarm --seed N`); \
        --profile NAME applies a named fault profile the same way. A run that breaks a \
        safety invariant keeps its answers, rows, faults and the services' logs in \
        reports/real-evidence/<scenario>-run-N/; --run N --runs K plays run N's draws K times.

        Then simulates the same scenario for seeds 1..N (as `overbook run SCENARIO --seed 1 \
        --runs N` does) and writes an HTML report with the real runs and both latency \
        distributions side by side (reports/real-<scenario>-runs-N.html, listed in \
        reports/index.html; --report PATH to choose the file, --no-report for none).

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
        if let problem = RealExperiment.problem(runs: runs, replicas: replicas, variant: variant, variants: VariantOption.registry, repeatedRun: repeatedRun,
                                                schedule: schedule != nil, swarm: swarm, profile: profile) {
            throw ValidationError(problem)
        }
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
