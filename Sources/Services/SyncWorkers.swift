import BookingCore
import Hummingbird
import Synchronization

/// A real service serving as a pre-forked server of sync workers does (`Serving`, the
/// simulator's `SimWorkers`): at most `workers` requests in flight, the rest waiting their turn
/// first come first served, and one that finds `backlog` already waiting answered `503` at once.
/// `overbook serve --workers N` turns it on; a plain `overbook serve` has none of it.
public final class SyncWorkers: Sendable {
    public let workers: Int
    public let backlog: Int

    private struct State {
        var busy = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    public init(workers: Int, backlog: Int = Serving.defaultBacklog) {
        precondition(workers >= 1 && backlog >= 0)
        self.workers = workers
        self.backlog = backlog
    }

    /// Takes a worker, waiting for one if all are busy; `false` if the accept queue was full.
    func enter() async -> Bool {
        enum Decision { case go, wait, refuse }
        let decision: Decision = state.withLock { state in
            if state.busy < workers {
                state.busy += 1
                return .go
            }
            return state.waiting.count - state.head < backlog ? .wait : .refuse
        }
        switch decision {
        case .go: return true
        case .refuse: return false
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let handedOver = state.withLock { state -> Bool in
                    // A worker may have come free between the decision and now.
                    if state.busy < workers {
                        state.busy += 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if handedOver { continuation.resume() }
            }
            return true
        }
    }

    /// Hands the worker to the longest waiting request, or back to the idle ones.
    func leave() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.head < state.waiting.count else {
                state.busy -= 1
                return nil
            }
            let next = state.waiting[state.head]
            state.head += 1
            if state.head == state.waiting.count {
                state.waiting.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }

    /// Requests in flight and waiting, for tests and logs.
    public var load: (busy: Int, waiting: Int) { state.withLock { ($0.busy, $0.waiting.count - $0.head) } }
}

/// Every request but the driver's fault control (which must reach a service whose workers are
/// all parked at a barrier) takes a worker for its whole handling.
struct SyncWorkersMiddleware<Context: RequestContext>: RouterMiddleware {
    let workers: SyncWorkers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix(FaultControlHTTP.root) else { return try await next(request, context) }
        guard await workers.enter() else {
            return HTTPServing.response(InputProblem(status: StatusCode.serviceUnavailable, Serving.backlogFullMessage))
        }
        defer { workers.leave() }
        return try await next(request, context)
    }
}
