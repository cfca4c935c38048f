import ArgumentParser
import BookingCore
import RunObservation
import Checking
import Reports
import Simulation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Model-check a scenario: bounded exhaustive search, PCT, or seeded random, with faults as choices.",
        discussion: """
        Strategies (every one drives the same simulator through one choice source: which ready \
        job runs next, which latency a hop gets, whether a fault fires here):

        \(SearchStrategy.allCases.map(\.helpParagraph).joined(separator: "\n\n"))

        Faults: --max-faults K > 0 adds the 'choices' fault profile (pause past the TTL or crash \
        at any point of a booking replica, lose an inventory or COMMIT reply, or a client that \
        stops waiting for its confirm after 10 ms and sends it again while the first attempt \
        runs on); --profile or --swarm add others. A violation's choices are written as a \
        schedule file that `overbook replay SCENARIO --schedule FILE` replays exactly; then it \
        is shrunk unless --no-shrink.

        Examples:
          overbook check scenarios/last-room-one-night.yaml --strategy exhaustive --users 2 --max-faults 1
          overbook check scenarios/seed-experiment.yaml --strategy exhaustive --users 3 --max-faults 2 --variant crash-safe
          overbook check scenarios/last-room-one-night.yaml --strategy pct --depth 2 --profile pause-past-ttl --budget 60
        """
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "exhaustive, pct or random.")
    var strategy: SearchStrategy = .exhaustive

    @Option(help: "Keep only the scenario's first N users (default: 2 for exhaustive, all otherwise).")
    var users: Int?

    @Option(help: "At most this many faults fire per execution (the 'choices' fault menu).")
    var maxFaults: Int = 1

    @Option(help: "PCT's bug depth d (d-1 priority change points).")
    var depth: Int = 2

    @Option(help: "Exhaustive: schedule choices that may depart from the default order per execution.")
    var preemptions: Int = 2

    @Option(help: "Exhaustive: branching decisions per execution; past it, defaults.")
    var maxDepth: Int = 500

    @Option(help: "Stop after this many seconds (wall time).")
    var budget: Double = 60

    @Flag(help: "Exhaustive: do not cache states (plain stateless search; to see what caching saves).")
    var noStateCaching = false

    @Option(help: "pct/random: at most this many runs.")
    var runs: Int = 1_000_000

    @Flag(help: "Keep searching after the first violation (exhaustive always explores to the end).")
    var all = false

    @OptionGroup var shrinkOptions: ShrinkOptions

    @Flag(help: "Write no HTML replay report for the counterexamples.")
    var noReport = false

    @Option(help: "Write the search as a JUnit XML test run: one test case per invariant, failed by its counterexample's schedule and replay command.")
    var junit: String?

    mutating func validate() throws {
        try refuse(CheckPlan.problem(users: users, maxFaults: maxFaults, preemptions: preemptions, maxDepth: maxDepth, depth: depth, budget: budget))
    }

    func run() throws {
        let base = try options.loadBase()
        let seed = options.seed ?? base.seed
        let plan = CheckPlan(options.selection, base: base, seed: seed, strategy: strategy, users: users, maxFaults: maxFaults)
        logInvocation("check", options, scenario: plan.scenario, seed: seed,
                      extra: ["strategy=\(strategy.rawValue)", "max_faults=\(maxFaults)", "budget=\(budget)"])
        if let warning = plan.warning(strategy: strategy, budget: budget) { Console.warning(warning) }
        let bounds = SearchBounds(maxFaults: maxFaults, maxPreemptions: preemptions, maxDepth: maxDepth, stateCaching: !noStateCaching)
            .effective(for: plan.scenario)
        let suite = options.selection.suiteName(base) + " (\(strategy.rawValue), \(plan.users) users, up to \(maxFaults) faults)"
        let found = try exitingWithStatus2(describing: Counterexamples.describe) {
            try options.counterexamples(in: shrinkOptions.scheduleDir, writeReports: !noReport)
                .check(plan, strategy: strategy, bounds: bounds, depth: depth, seed: seed, maxRuns: runs, budget: budget, stopAtFirst: !all,
                       swarm: options.swarm, shrinkBudget: shrinkOptions.noShrink ? nil : shrinkOptions.shrinkBudget, junit: junit.map { ($0, suite) })
        }
        if found { throw ExitCode(1) }
    }
}

extension SearchStrategy: ExpressibleByArgument {}

struct ShrinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shrink",
        abstract: "Shrink a failing seed to a minimal counterexample: fewer users, faults, time and choices.",
        discussion: """
        Delta debugging: first the fewest users (1 to 3) that still violate the same invariant \
        (seeded random runs, then a bounded exhaustive search with up to 2 faults), then each \
        fault that fired is turned off where the run still fails and runs of choices are set to \
        their simplest value. Writes the minimal schedule file and prints its replay command.

        Example:
          overbook shrink scenarios/seed-experiment.yaml --swarm --seed 13
        """
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Keep this invariant failing (default: the run's first safety violation).")
    var invariant: String?

    @Option(help: "Stop shrinking after this many seconds (wall time).")
    var budget: Double = 60

    @Option(help: "Where schedule files go.")
    var scheduleDir = "reports/schedules"

    @Flag(help: "Write no HTML replay report for the shrunk run.")
    var noReport = false

    func run() throws {
        let base = try options.loadBase()
        let seed = options.seed ?? base.seed
        let scenario = options.scenario(base, seed: seed)
        logInvocation("shrink", options, scenario: scenario, seed: seed)
        let wanted = invariant.flatMap(Invariant.init(rawValue:))
        if invariant != nil && wanted == nil { throw ValidationError("--invariant must be one of: \(Invariant.names)") }
        try exitingWithStatus2(describing: Counterexamples.describe) {
            try options.counterexamples(in: scheduleDir, writeReports: !noReport)
                .shrink(scenario, seed: seed, invariant: wanted, source: options.selection.schedule(seed: seed, variant: scenario.variant), choices: nil, budget: budget)
        }
    }
}

/// A schedule file read back: the scenario as it ran and the choices to replay.
func loadSchedule(_ path: String, base: Scenario) throws -> (scenario: Scenario, file: ScheduleFile) {
    try exitingWithStatus2(on: ScheduleFileError.self) {
        let file = try ScheduleFile.read(path: path)
        return (try file.scenario(from: base, variants: VariantOption.registry, path: path), file)
    }
}
