import Foundation
import Synchronization

/// One dedicated OS thread that runs submitted jobs one at a time, in submission order.
///
/// hiredis and libpq block the calling thread for a whole network round trip (and for the
/// length of a row-lock wait in PostgreSQL). Swift's cooperative pool has one thread per core,
/// two here, so two blocked calls there would stall every task in the process, including the
/// ones that would release the lock being waited for. Every blocking C call in this target
/// therefore runs on a `BlockingThread`, and each pooled connection owns exactly one of them:
/// a connection is only ever touched by its own thread (neither library is thread-safe per
/// connection), and a call blocked on one connection holds up nothing but that connection.
final class BlockingThread: Sendable {
    private let mailbox: Mailbox

    /// The OS thread starts with the first job, so a pool's idle slots cost nothing.
    init(name: String) {
        mailbox = Mailbox(name: name)
    }

    deinit { mailbox.close() }

    /// Queues `job` behind everything submitted before it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        mailbox.post(job)
    }

    /// Runs `body` on this thread and suspends the calling task (without blocking its thread)
    /// until it has finished.
    ///
    /// Cancelling the calling task does not interrupt `body`: a C call in flight cannot be
    /// abandoned without leaving its connection in an unknown state.
    func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }
        }
        return try result.get()
    }
}

/// The job queue between submitters (any thread) and the one serving thread.
private final class Mailbox: Sendable {
    private struct State {
        // A taken job's slot is set to nil at once: a finished job must not keep what it
        // captured (a transaction whose deinit rolls back) alive until the next compaction.
        var jobs: [(@Sendable () -> Void)?] = []
        var head = 0
        var closed = false
        var started = false
    }

    private let name: String
    private let state = Mutex(State())
    /// Counts queued jobs plus one wake-up for `close()`; the serving thread sleeps on it
    /// instead of spinning.
    private let pending = DispatchSemaphore(value: 0)

    init(name: String) {
        self.name = name
    }

    func post(_ job: @escaping @Sendable () -> Void) {
        let start = state.withLock { state in
            state.jobs.append(job)
            defer { state.started = true }
            return !state.started
        }
        if start {
            // The thread captures the mailbox, not the `BlockingThread`, so dropping the last
            // reference to that closes the mailbox and lets the thread drain its queue and exit.
            let thread = Thread { self.serve() }
            thread.name = name
            thread.start()
        }
        pending.signal()
    }

    func close() {
        state.withLock { $0.closed = true }
        pending.signal()
    }

    func serve() {
        Mailbox.ignoreBrokenPipes()
        while true {
            pending.wait()
            let next: (@Sendable () -> Void)? = state.withLock { state in
                guard state.head < state.jobs.count else { return nil }
                let job = state.jobs[state.head]
                state.jobs[state.head] = nil
                state.head += 1
                // Reuse the storage once drained (the common case), and compact a long-lived
                // backlog now and then, instead of paying `removeFirst`'s O(n) per job.
                if state.head == state.jobs.count {
                    state.jobs.removeAll(keepingCapacity: true)
                    state.head = 0
                } else if state.head >= 64, state.head * 2 >= state.jobs.count {
                    state.jobs.removeFirst(state.head)
                    state.head = 0
                }
                return job
            }
            if let next {
                next()
            } else if state.withLock({ $0.closed && $0.head >= $0.jobs.count }) {
                return
            }
        }
    }

    /// hiredis writes to its socket with plain `write`, which raises SIGPIPE (fatal by default)
    /// when Redis has closed the connection. Blocking the signal on this thread only turns that
    /// into an `EPIPE` error without changing the signal disposition of the host process.
    private static func ignoreBrokenPipes() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
