import BookingCore
import Foundation
import RunObservation
import Synchronization

/// Runs seeds on worker threads. Each seed is deterministic on its own; the merged summary does
/// not depend on how many workers ran or which seed each took.
///
/// Time is read only through `now` (wall-clock seconds, injected), and only for the figures it
/// reports: which seed a worker takes never changes what the summary says.
public struct ParallelSweep: Sendable {
    public let seeds: ClosedRange<UInt64>
    public let jobs: Int
    /// Stop once a seed breaks one of these invariants (empty: never stop early).
    public let stopOn: Set<Invariant>
    public let verdict: @Sendable (UInt64) -> RunVerdict

    public init(seeds: ClosedRange<UInt64>, jobs: Int, stopOn: Set<Invariant>, verdict: @escaping @Sendable (UInt64) -> RunVerdict) {
        self.seeds = seeds
        self.jobs = jobs
        self.stopOn = stopOn
        self.verdict = verdict
    }

    public struct Outcome: Sendable {
        public var batch: BatchSummary
        /// Wall-clock seconds the sweep took.
        public var elapsed: Double
        /// Per invariant, wall-clock seconds from the start until the seed that turned out to
        /// be its lowest failing seed was found.
        public var firstFound: [Invariant: Double]
    }

    private final class Shared: @unchecked Sendable {
        let next: Mutex<UInt64>
        let done = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let results = Mutex<[BatchSummary]>([])
        let firstFound = Mutex<[Invariant: (seed: UInt64, after: Double)]>([:])
        init(first: UInt64) { next = Mutex(first) }
    }

    /// `progress(done, failures)` is called about every 100 ms, on the calling thread, and
    /// once more at the end.
    public func run(now: @escaping @Sendable () -> Double, progress: (_ done: Int, _ failures: Int, _ final: Bool) -> Void) -> Outcome {
        let shared = Shared(first: seeds.lowerBound)
        let start = now()
        let last = seeds.upperBound
        let stopOn = self.stopOn
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
                        let after = now() - start
                        shared.firstFound.withLock { found in
                            for invariant in result.violatedInvariants where found[invariant].map({ seed < $0.seed }) ?? true {
                                found[invariant] = (seed, after)
                            }
                        }
                        if !stopOn.isDisjoint(with: result.violatedInvariants) { shared.stop.store(true, ordering: .relaxed) }
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
        while finished.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            progress(shared.done.load(ordering: .relaxed), shared.failures.load(ordering: .relaxed), false)
        }
        progress(shared.done.load(ordering: .relaxed), shared.failures.load(ordering: .relaxed), true)
        var merged = BatchSummary()
        for part in shared.results.withLock({ $0 }) { merged.merge(part) }
        return Outcome(batch: merged, elapsed: now() - start, firstFound: shared.firstFound.withLock { $0.mapValues(\.after) })
    }
}

extension ClosedRange where Bound == UInt64 {
    /// Seeds as a command line writes them: `A..B` (inclusive, A <= B) or a single seed.
    public init?(seeds text: String) {
        let parts = text.components(separatedBy: "..")
        if parts.count == 1, let seed = UInt64(parts[0]) {
            self = seed...seed
        } else if parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high {
            self = low...high
        } else {
            return nil
        }
    }
}
