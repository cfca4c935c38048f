import ArgumentParser
import BookingCore
import Checking
import RealHarness
import Reports
import Scenarios

// The option groups and option parsing that several commands share.

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
        try refuse(selection.problem)
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

struct ReportOptions: ParsableArguments {
    @Option(help: "Write the HTML report to this path (default: a file under reports/, listed in reports/index.html).")
    var report: String?

    @Flag(help: "Write no HTML report.")
    var noReport = false

    /// The reports these options ask for, what is said about them on the terminal.
    var publisher: ReportPublisher { ReportPublisher(path: report, wanted: !noReport, output: Console.output) }
}

/// `--no-shrink`, `--shrink-budget`, `--schedule-dir`: how `check`, `sweep` and `merge` shrink a
/// counterexample (for a sweep, the first seed that broke a safety invariant).
struct ShrinkOptions: ParsableArguments {
    @Flag(help: "Do not shrink a counterexample to a minimal schedule.")
    var noShrink = false

    @Option(help: "Seconds (wall time) the automatic shrink may take.")
    var shrinkBudget: Double = 60

    @Option(help: "Where schedule files go (a counterexample's, and its shrunk one).")
    var scheduleDir = "reports/schedules"

    func shrink(_ options: ScenarioOptions, _ reportOptions: ReportOptions) -> (counterexamples: Counterexamples, budget: Double)? {
        noShrink ? nil : (options.counterexamples(in: scheduleDir, writeReports: !reportOptions.noReport), shrinkBudget)
    }
}

/// `--redis-url`, `--inventory-database-url`, `--booking-database-url`.
struct BackendOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Use this Redis (redis://host:port[/db]) instead of starting one. Its lock:* and fence:* keys are deleted before each run.")
    var redisURL: String?

    @Option(name: .customLong("inventory-database-url"), help: "Use this PostgreSQL database as inventory_db. It is migrated, seeded and reset (availability back to capacity) before each run.")
    var inventoryDatabaseURL: String?

    @Option(name: .customLong("booking-database-url"), help: "Use this PostgreSQL database as booking_db. Its bookings are DELETED (truncated) before each run.")
    var bookingDatabaseURL: String?

    var locations: BackendLocations {
        BackendLocations(redisURL: redisURL, inventoryDatabaseURL: inventoryDatabaseURL, bookingDatabaseURL: bookingDatabaseURL)
    }

    func validate() throws {
        try refuse(locations.problem)
    }
}

/// `--variant` as every command reads it: names from the standard registry.
enum VariantOption {
    static let registry = VariantRegistry.standard

    static var help: ArgumentHelp { "Algorithm variant: \(registry.syntax)." }
    static var overrideHelp: ArgumentHelp { "Run this variant instead of the scenario's: \(registry.syntax)." }

    static func parse(_ name: String, option: String = "--variant") throws -> Variant {
        try refuse(registry.problem(name, option: option))
        return registry.variant(named: name)!
    }
}
