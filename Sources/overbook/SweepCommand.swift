import ArgumentParser
import RunObservation
import Checking
import Foundation
import RealHarness
import Reports

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

        Sharded over machines: each runs `--shard I/N` (or `--shard auto/N`, the index from \
        JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, 0-based) with `--output shard-I.json`, \
        the I-th of N contiguous slices of the range; `overbook merge shard-*.json` then gives \
        the summary, exit status and report one sweep over the whole range gives:
          overbook sweep scenarios/seed-experiment.yaml --seeds 1..1000000 --swarm --shard auto/20 --output /results/shard.json
          overbook merge /results/shard-*.json
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

    @OptionGroup var shrinkOptions: ShrinkOptions

    @Option(help: "Run only the I-th of N contiguous slices of the seeds: I/N, or auto/N (the 0-based index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID).")
    var shard: String?

    @Option(help: "Write the sweep's whole result as JSON (docs/sweep-output.md); a shard's file is what `overbook merge` reads.")
    var output: String?

    @Option(help: "Write the sweep as a JUnit XML test run: one test case per invariant, failed with its first seed and replay command.")
    var junit: String?

    @OptionGroup var reportOptions: ReportOptions

    mutating func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        _ = try sliceToRun()
        try refuse(Invariant.problem(list: stopOn, option: "--stop-on"))
    }

    var stopSet: Set<Invariant> { stopOnFailure ? Set(Invariant.allCases) : Invariant.set(list: stopOn) }

    /// `--shard`, parsed, and the seeds it leaves this process (see `SweepShard.select`).
    func sliceToRun() throws -> (shard: SweepShard?, seeds: ClosedRange<UInt64>?) {
        try asUsageError(on: SweepShardError.self) { try SweepShard.select(shard, of: seeds.range, environment: ProcessInfo.processInfo.environment) }
    }

    func run() throws {
        let base = try options.loadBase()
        let (shard, slice) = try sliceToRun()
        let request = SweepRequest(seeds: seeds.range, shard: shard, jobs: jobs, stopOn: stopSet, outputPath: output, junitPath: junit,
                                   build: BuildIdentity.current,
                                   shrink: shrinkOptions.shrink(options, reportOptions))
        if let seeds = slice { logInvocation("sweep", options, scenario: base, seed: seeds.lowerBound, extra: request.invocationFields(slice: seeds)) }
        let passed = try asUsageError(on: OutputFileError.self) {
            try exitingWithStatus2(describing: Counterexamples.describe) { try options.runs(base, reportOptions).sweep(request, slice: slice) }
        }
        if !passed { throw ExitCode(1) }
    }
}
