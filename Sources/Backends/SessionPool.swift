import Synchronization

/// A fixed set of sessions (a connection plus the thread that owns it) lent out one caller at a
/// time. The pool's size is its bound: a caller that finds every session busy waits in line,
/// first come first served, rather than opening another connection, so a burst of 50 clients
/// can never exhaust the server's `max_connections`.
///
/// Sessions are created up front but connect lazily, so an unused pool costs threads, not
/// server connections. An idle session is handed out last-in first-out to keep reusing warm
/// connections.
final class SessionPool<Session: AnyObject & Sendable>: Sendable {
    private struct State {
        var idle: [Session]
        var waiters: [CheckedContinuation<Session, Never>] = []
        var waitersHead = 0
    }

    let sessions: [Session]
    private let state: Mutex<State>

    init(sessions: [Session]) {
        precondition(!sessions.isEmpty, "a pool needs at least one session")
        self.sessions = sessions
        state = Mutex(State(idle: sessions.reversed()))
    }

    var size: Int { sessions.count }

    /// Waits for a free session. The caller must hand it back with `release(_:)` exactly once.
    ///
    /// Waiting is not cancellable: a cancelled caller still receives its session in turn and is
    /// expected to release it, which keeps the bookkeeping free of lost or duplicated sessions.
    func acquire() async -> Session {
        await withCheckedContinuation { (continuation: CheckedContinuation<Session, Never>) in
            let session: Session? = state.withLock { state in
                if let session = state.idle.popLast() { return session }
                state.waiters.append(continuation)
                return nil
            }
            if let session { continuation.resume(returning: session) }
        }
    }

    func release(_ session: Session) {
        let waiter: CheckedContinuation<Session, Never>? = state.withLock { state in
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
