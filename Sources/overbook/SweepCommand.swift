import ArgumentParser
import BookingCore
import Checking
import Foundation
import Simulation
import Synchronization

/// Runs seeds on worker threads. Each seed is deterministic on its own; the merged summary does
/// not depend on how many workers ran or which seed each took.
struct ParallelSweep {
    let seeds: ClosedRange<UInt64>
    let jobs: Int
    let stopOnFailure: Bool
    let label: String
    let verdict: @Sendable (UInt64) -> RunVerdict

    struct Outcome {
        var batch: BatchSummary
        var elapsed: Duration
        /// Wall time from the start until the lowest failing seed was found, if any.
        var firstFailureAfter: Duration?
    }

    private final class Shared: @unchecked Sendable {
        let next: Mutex<UInt64>
        let done = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let results = Mutex<[BatchSummary]>([])
        let firstFailure = Mutex<(seed: UInt64, after: Duration)?>(nil)
        init(first: UInt64) { next = Mutex(first) }
    }

    func run() -> Outcome {
        let shared = Shared(first: seeds.lowerBound)
        let clock = ContinuousClock()
        let start = clock.now
        let last = seeds.upperBound
        let stopOnFailure = self.stopOnFailure
        let verdict = self.verdict
        var threads: [Thread] = []
        let finished = DispatchGroup()
        for _ in 0..<max(1, jobs) {
            finished.enter()
            let thread = Thread {
                var batch = BatchSummary()
                while !shared.stop.load(ordering: .relaxed) {
                    let claimed: UInt64? = shared.next.withLock { next in
                        guard next <= last, next >= seeds.lowerBound else { return nil }
                        defer { next = next == UInt64.max ? seeds.lowerBound &- 1 : next + 1 }
                        return next
                    }
                    guard let seed = claimed else { break }
                    let result = verdict(seed)
                    batch.add(result)
                    if !result.passed {
                        shared.failures.add(1, ordering: .relaxed)
                        let after = clock.now - start
                        shared.firstFailure.withLock { first in
                            if first == nil || seed < first!.seed { first = (seed, after) }
                        }
                        if stopOnFailure { shared.stop.store(true, ordering: .relaxed) }
                    }
                    shared.done.add(1, ordering: .relaxed)
                }
                shared.results.withLock { $0.append(batch) }
                finished.leave()
            }
            // The simulator runs deep async call chains on this thread's stack.
            thread.stackSize = 16 << 20
            threads.append(thread)
            thread.start()
        }
        let total = Int(clamping: last - seeds.lowerBound + 1)
        var meter = ProgressMeter(total: total, label: label)
        while finished.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            meter.update(done: shared.done.load(ordering: .relaxed), failures: shared.failures.load(ordering: .relaxed))
        }
        meter.update(done: shared.done.load(ordering: .relaxed), failures: shared.failures.load(ordering: .relaxed), final: true)
        var merged = BatchSummary()
        for part in shared.results.withLock({ $0 }) { merged.merge(part) }
        return Outcome(batch: merged, elapsed: clock.now - start, firstFailureAfter: shared.firstFailure.withLock { $0?.after })
    }
}

/// `A..B` (inclusive) or a single seed.
struct SeedRange: ExpressibleByArgument {
    var range: ClosedRange<UInt64>
    init?(argument: String) {
        let parts = argument.components(separatedBy: "..")
        if parts.count == 1, let seed = UInt64(parts[0]) {
            range = seed...seed
        } else if parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high {
            range = low...high
        } else {
            return nil
        }
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

    @Flag(help: "Stop at the first failing seed.")
    var stopOnFailure = false

    mutating func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let base = try options.loadBase()
        let seeds = self.seeds.range
        logInvocation("sweep", options, scenario: base, seed: seeds.lowerBound,
                      extra: ["seeds=\(seeds.lowerBound)..\(seeds.upperBound)", "jobs=\(jobs)", "stop_on_failure=\(stopOnFailure)"])
        let options = self.options
        let sweep = ParallelSweep(seeds: seeds, jobs: jobs, stopOnFailure: stopOnFailure, label: "sweep") { seed in
            Verdicts.simulate(options.scenario(base, seed: seed), seed: seed)
        }
        let outcome = sweep.run()
        let batch = outcome.batch
        print(SummaryText.render(batch, scenario: base, firstSeed: seeds.lowerBound))
        print(String(format: "Throughput: %d seeds in %.2f s = %.0f seeds/s with %d job(s)",
                     batch.runs, outcome.elapsed.seconds, Double(batch.runs) / outcome.elapsed.seconds, jobs))
        guard let first = batch.firstFailingSeed else { return }
        if let after = outcome.firstFailureAfter {
            print(String(format: "First failure: seed %llu, %llu seeds into the range, found after %.2f s", first,
                         first - seeds.lowerBound + 1, after.seconds))
        }
        print("\nFailures by invariant (replay each):")
        for invariant in Invariant.allCases {
            guard let failure = batch.failures[invariant] else { continue }
            print("  \(invariant.rawValue): \(failure.count) seeds; first seed \(failure.firstSeed)")
            print("    overbook replay \(options.replayArguments) --seed \(failure.firstSeed)")
        }
        throw ExitCode(1)
    }
}
