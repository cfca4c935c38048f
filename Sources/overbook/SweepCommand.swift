import ArgumentParser
import BookingCore
import RunObservation
import Checking
import Foundation

/// `--seeds`: `A..B` (inclusive) or a single seed.
struct SeedRange: ExpressibleByArgument {
    var range: ClosedRange<UInt64>
    init?(argument: String) {
        guard let range = ClosedRange(seeds: argument) else { return nil }
        self.range = range
    }
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a range of seeds in parallel and group the failures by invariant.",
        discussion: """
        Each seed is deterministic; the summary is the same whatever --jobs is. With --swarm each \
        seed also draws its own fault mix (every fault kind active in about half the seeds). Ends \
        with the failures grouped by invariant, the first failing seed of each and its replay \
        command, and the coverage marks reached and never reached.

        Examples:
          overbook sweep scenarios/seed-experiment.yaml --seeds 1..10000 --swarm --jobs 2
          overbook sweep scenarios/overlapping-stays.yaml --seeds 1..1000 --stop-on-failure
          overbook sweep scenarios/seed-experiment.yaml --seeds 1..100000 --swarm --variant atomic+idempotent+crash-safe
        """
    )

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Seeds to run, A..B inclusive.")
    var seeds: SeedRange

    @Option(help: "Worker threads (each runs whole seeds).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Stop at the first seed that breaks any invariant.")
    var stopOnFailure = false

    @Option(help: "Stop at the first seed that breaks one of these invariants (comma-separated: \(Invariant.names)).")
    var stopOn: String?

    @Flag(help: "Do not shrink the first failing seed to a minimal schedule.")
    var noShrink = false

    @Option(help: "Seconds (wall time) the automatic shrink may take.")
    var shrinkBudget: Double = 60

    @Option(help: "Where the shrunk schedule file goes.")
    var scheduleDir = "reports/schedules"

    @OptionGroup var reportOptions: ReportOptions

    mutating func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        for name in stopOn?.split(separator: ",") ?? [] where Invariant(rawValue: String(name)) == nil {
            throw ValidationError("--stop-on: unknown invariant '\(name)'; use: \(Invariant.names)")
        }
    }

    var stopSet: Set<Invariant> {
        if stopOnFailure { return Set(Invariant.allCases) }
        return Set(stopOn?.split(separator: ",").compactMap { Invariant(rawValue: String($0)) } ?? [])
    }

    func run() throws {
        let base = try options.loadBase()
        let seeds = self.seeds.range
        logInvocation("sweep", options, scenario: base, seed: seeds.lowerBound,
                      extra: ["seeds=\(seeds.lowerBound)..\(seeds.upperBound)", "jobs=\(jobs)",
                              "stop_on=\(stopSet.sorted().map(\.rawValue).joined(separator: ","))"])
        let options = self.options
        let sweep = ParallelSweep(seeds: seeds, jobs: jobs, stopOn: stopSet) { seed in
            Verdicts.simulate(options.scenario(base, seed: seed), seed: seed)
        }
        let outcome = sweep.run(label: "sweep")
        let batch = outcome.batch
        print(SummaryText.render(batch, scenario: base, firstSeed: seeds.lowerBound))
        Reporting.batch(batch, base: base, firstSeed: seeds.lowerBound, options: options, reportOptions: reportOptions,
                        wallSeconds: outcome.elapsed)
        print(outcome.sweepText(firstSeed: seeds.lowerBound, jobs: jobs, replay: options.replay.seed))
        guard batch.firstFailingSeed != nil else { return }
        if !noShrink, let failure = batch.firstSafetyFailure {
            let (invariant, seed) = failure
            print("\nShrinking seed \(seed) (\(invariant.rawValue)); --no-shrink skips this")
            try shrinkAndReport(options.scenario(base, seed: seed), seed: seed, invariant: invariant,
                                source: options.schedule(seed: seed, variant: base.variant), choices: nil,
                                options: options, writeReport: !reportOptions.noReport, directory: scheduleDir, budget: shrinkBudget)
        }
        throw ExitCode(1)
    }
}
