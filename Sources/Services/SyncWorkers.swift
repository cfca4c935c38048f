import Backends
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
    /// One token per worker, lent first come first served.
    private let pool: SessionPool<Worker>

    final class Worker: Sendable {}

    public init(workers: Int, backlog: Int = Serving.defaultBacklog) {
        precondition(workers >= 1 && backlog >= 0)
        self.workers = workers
        self.backlog = backlog
        pool = SessionPool(sessions: (0..<workers).map { _ in Worker() })
    }

    /// Runs `body` holding a worker, waiting for one if all are busy; `nil` without running
    /// it if `backlog` requests already wait.
    func serve<T>(_ body: () async throws -> T) async rethrows -> T? {
        let queued = ContinuousClock.now
        guard let worker = await pool.acquire(waitingAtMost: backlog) else { return nil }
        RequestTimer.current?.addWait(ContinuousClock.now - queued)
        defer { pool.release(worker) }
        return try await body()
    }

    /// Requests waiting for a worker, for tests and logs.
    public var waiting: Int { pool.waiting }
}

/// Every request but the driver's own routes (fault control must reach a service whose
/// workers are all parked at a barrier) takes a worker for its whole handling.
struct SyncWorkersMiddleware<Context: RequestContext>: RouterMiddleware {
    let workers: SyncWorkers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix("/_overbook/") else { return try await next(request, context) }
        guard let response = try await workers.serve({ try await next(request, context) }) else {
            return HTTPServing.response(InputProblem(status: StatusCode.serviceUnavailable, Serving.backlogFullMessage))
        }
        return response
    }
}
