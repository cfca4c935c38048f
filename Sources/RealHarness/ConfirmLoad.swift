import AsyncHTTPClient
import BookingCore
import RunObservation
import Foundation
import Services

/// One user's confirm, as a load sends it.
public struct PlannedConfirm: Hashable, Sendable {
    public var body: ConfirmBody
    /// When to send it, from the start of the load.
    public var arrival: Duration

    public init(body: ConfirmBody, arrival: Duration = .zero) {
        self.body = body
        self.arrival = arrival
    }
}

/// What one user saw, in wall-clock nanoseconds from the start of the load.
public struct ConfirmResult: ConfirmAnswerRecord, Hashable, Sendable {
    public var user: UserID
    public var stay: Stay
    /// Which booking replica (index into the load's targets) got the request.
    public var replica: Int
    public var sentAt: Int64
    public var completedAt: Int64
    /// `nil` when no answer came (timeout, connection refused or reset).
    public var status: Int?
    public var booking: Booking?
    /// The server's error message, or why no answer came.
    public var error: String?
    /// The answer said that whether the request took effect is unknown (`ResponseBody.outcomeUnknown`).
    public var outcomeUnknown = false
    /// `true` when the client gave up waiting (the request may still have been processed).
    public var timedOut: Bool
    /// How many times the request was sent (more than 1 after a client-retry fault).
    public var attempts = 1

    public var latency: Int64 { completedAt - sentAt }
}

/// Drives many confirms at once over HTTP, as the seed's `concurrent_booking_test.py` does
/// with one thread per user: every request is in flight together (one connection each), so
/// the services see real concurrency rather than a queue in the client.
public struct ConfirmLoad: Sendable {
    public let targets: [HTTPRemoteService<BookingRequest>]
    public let timeout: Duration
    /// When a client sends its request again (the client-retry fault); `nil`: never.
    public let retries: ClientRetryPolicy?

    public init(targets: [HTTPRemoteService<BookingRequest>], timeout: Duration, retries: ClientRetryPolicy? = nil) {
        precondition(!targets.isEmpty, "a load needs at least one booking service")
        self.targets = targets
        self.timeout = timeout
        self.retries = retries
    }

    /// A client able to hold `users` requests open at once toward each target.
    /// Sends `plan` to the booking services at `urls` (round-robin) with an HTTP client of its
    /// own, shut down afterwards.
    public static func run(_ plan: [PlannedConfirm], against urls: [String],
                           timeout: Duration) async throws -> (results: [ConfirmResult], duration: Int64) {
        let client = makeClient(users: plan.count)
        do {
            let targets = try urls.map { try HTTPRemoteService<BookingRequest>(baseURL: $0, client: client) }
            let outcome = await ConfirmLoad(targets: targets, timeout: timeout).run(plan)
            try? await client.shutdown()
            return outcome
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    public static func makeClient(users: Int) -> HTTPClient {
        ServiceInstance.makeHTTPClient(connections: max(8, users))
    }

    /// Sends every planned confirm at its arrival time (round-robin over the targets) and
    /// returns the results in plan order, with the load's wall-clock duration in nanoseconds
    /// (first send to last answer).
    /// `origin`: the instant arrivals count from (by default 20 ms from now), shared with a
    /// fault injector whose times count from it too.
    public func run(_ plan: [PlannedConfirm], origin: ContinuousClock.Instant? = nil) async -> (results: [ConfirmResult], duration: Int64) {
        let clock = ContinuousClock()
        // All tasks exist before the first send, so "at once" means at once, not in spawn order.
        let origin = origin ?? Self.origin()
        func nanos(_ instant: ContinuousClock.Instant) -> Int64 { Self.nanoseconds(origin.duration(to: instant)) }
        let results = await withTaskGroup(of: (Int, ConfirmResult).self) { group in
            for (index, planned) in plan.enumerated() {
                let replica = index % targets.count
                let target = targets[replica]
                let (timeout, retries) = (self.timeout, self.retries)
                group.addTask {
                    try? await clock.sleep(until: origin.advanced(by: planned.arrival))
                    let sent = clock.now
                    let stay = Stay(room: planned.body.room, checkIn: planned.body.checkIn, checkOut: planned.body.checkOut)
                        ?? Stay(room: planned.body.room, checkIn: planned.body.checkIn, checkOut: planned.body.checkIn.adding(days: 1))!
                    var result = ConfirmResult(user: planned.body.userID, stay: stay, replica: replica,
                                               sentAt: nanos(sent), completedAt: 0, status: nil, booking: nil, error: nil, timedOut: false)
                    // Re-sends allowed after a time-out, decided at the first one (client-retry).
                    var resendsAllowed: Int?
                    while true {
                        let impatient = retries?.impatience(index + 1)
                        (result.error, result.timedOut, result.outcomeUnknown) = (nil, false, false)
                        do throws(NetworkError) {
                            let answer = try await target.call(.confirm(planned.body), timeout: impatient?.wait ?? timeout)
                            result.record(answer)
                        } catch {
                            result.error = error.description
                            result.timedOut = error == .timeout
                            if error == .timeout, let retries {
                                let allowed: Int
                                if let impatient {
                                    allowed = impatient.retries
                                } else {
                                    allowed = resendsAllowed ?? retries.onTimeout(index + 1)
                                    resendsAllowed = allowed
                                }
                                if result.attempts <= allowed {
                                    // The same body, so the same request id: what a retrying client sends.
                                    result.attempts += 1
                                    retries.resending(index + 1, result.attempts)
                                    continue
                                }
                            }
                        }
                        break
                    }
                    result.completedAt = nanos(clock.now)
                    return (index, result)
                }
            }
            var ordered = [ConfirmResult?](repeating: nil, count: plan.count)
            for await (index, result) in group { ordered[index] = result }
            return ordered.map { $0! }
        }
        let first = results.map(\.sentAt).min() ?? 0
        let last = results.map(\.completedAt).max() ?? 0
        return (results, last - first)
    }

    /// The default start of a load: soon enough, late enough for every task to exist first.
    public static func origin() -> ContinuousClock.Instant {
        ContinuousClock.now.advanced(by: .milliseconds(20))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// How the driver's clients re-send a request, as the client-retry fault says; users are
/// numbered from 1 in plan order (`user-N`). Called from many client tasks at once.
public struct ClientRetryPolicy: Sendable {
    /// At a client's first time-out: how many times it may send the same request again (0: none).
    public var onTimeout: @Sendable (_ user: Int) -> Int
    /// Before each attempt: wait only this long before re-sending, up to `retries` times (an
    /// impatient client), or `nil` to wait the client timeout.
    public var impatience: @Sendable (_ user: Int) -> (wait: Duration, retries: Int)?
    /// Told as a client sends attempt number `attempt` (2, 3, ...).
    public var resending: @Sendable (_ user: Int, _ attempt: Int) -> Void

    public init(onTimeout: @escaping @Sendable (Int) -> Int, impatience: @escaping @Sendable (Int) -> (wait: Duration, retries: Int)?,
                resending: @escaping @Sendable (Int, Int) -> Void) {
        self.onTimeout = onTimeout
        self.impatience = impatience
        self.resending = resending
    }
}
