import Synchronization

/// A fixed set of sessions (a connection plus the thread that owns it) lent out one caller at a
/// time. The pool's size is its bound: a caller that finds every session busy waits in line,
/// first come first served, rather than opening another connection, so a burst of 50 clients
/// can never exhaust the server's `max_connections`.
///
/// Sessions are created up front but connect lazily, so an unused pool costs threads, not
/// server connections. An idle session is handed out last-in first-out to keep reusing warm
/// connections.
///
/// Also the real services' sync workers (`Services.SyncWorkers`): a pool of worker tokens.
public final class SessionPool<Session: AnyObject & Sendable>: Sendable {
    private struct State {
        var idle: [Session]
        var waiters: [CheckedContinuation<Session?, Never>] = []
        var waitersHead = 0
    }

    public let sessions: [Session]
    private let state: Mutex<State>

    public init(sessions: [Session]) {
        precondition(!sessions.isEmpty, "a pool needs at least one session")
        self.sessions = sessions
        state = Mutex(State(idle: sessions.reversed()))
    }

    public var size: Int { sessions.count }

    /// Callers waiting for a session now.
    public var waiting: Int { state.withLock { $0.waiters.count - $0.waitersHead } }

    /// Waits for a free session. The caller must hand it back with `release(_:)` exactly once.
    ///
    /// Waiting is not cancellable: a cancelled caller still receives its session in turn and is
    /// expected to release it, which keeps the bookkeeping free of lost or duplicated sessions.
    public func acquire() async -> Session {
        await acquire(waitingAtMost: .max)!
    }

    /// As `acquire()`, but `nil` at once when `limit` callers already wait (an accept queue
    /// that is full).
    public func acquire(waitingAtMost limit: Int) async -> Session? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Session?, Never>) in
            // (a session now, or nil; whether the caller waits in line instead)
            let (session, queued): (Session?, Bool) = state.withLock { state in
                if let session = state.idle.popLast() { return (session, false) }
                guard state.waiters.count - state.waitersHead < limit else { return (nil, false) }
                state.waiters.append(continuation)
                return (nil, true)
            }
            if !queued { continuation.resume(returning: session) }
        }
    }

    public func release(_ session: Session) {
        let waiter: CheckedContinuation<Session?, Never>? = state.withLock { state in
            guard state.waitersHead < state.waiters.count else {
                state.idle.append(session)
                return nil
            }
            let waiter = state.waiters[state.waitersHead]
            state.waitersHead += 1
            if state.waitersHead == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.waitersHead = 0
            }
            return waiter
        }
        // Resumed outside the lock: resuming may run the waiter's code inline.
        waiter?.resume(returning: session)
    }

}
