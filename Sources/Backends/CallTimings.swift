import BookingCore
import Synchronization

/// What a real service measured of its own traffic (`overbook serve --record-timings`), for
/// `overbook calibrate`: one-way delays per hop, and each request's handling time with every
/// wait on something else taken out (its calls, its sleeps, its queueing for a worker). These
/// are the two quantities the simulator draws: a message's latency and a request's service time.
public final class TimingRecorder: Sendable {
    /// Per series; enough for thousands of requests, bounded so a long-running service does
    /// not grow without end.
    public static let sampleLimit = 200_000

    private let samples = Mutex(TimingSamples())

    public init() {}

    /// One message's one-way delay on `hop`.
    public func record(_ hop: Hop, oneWay: Duration) {
        samples.withLock { $0.append(hop, oneWay.nanoseconds) }
    }

    /// One request's own handling time.
    public func recordHandling(_ time: Duration) {
        samples.withLock { $0.appendHandling(time.nanoseconds) }
    }

    /// What was recorded so far; `reset` starts the next calibration round afresh.
    public func snapshot(reset: Bool = false) -> TimingSamples {
        samples.withLock { samples in
            defer { if reset { samples = TimingSamples() } }
            return samples
        }
    }
}

/// Recorded timings in nanoseconds, as `GET /_overbook/timings` serves them.
public struct TimingSamples: Sendable, Hashable, Codable {
    /// One-way delays by hop (`Hop.rawValue`).
    public var hops: [String: [Int64]]
    /// Handling times, one per request.
    public var handling: [Int64]

    public init(hops: [String: [Int64]] = [:], handling: [Int64] = []) {
        self.hops = hops
        self.handling = handling
    }

    public subscript(hop: Hop) -> [Int64] { hops[hop.rawValue] ?? [] }

    mutating func append(_ hop: Hop, _ nanoseconds: Int64) {
        guard hops[hop.rawValue, default: []].count < TimingRecorder.sampleLimit else { return }
        hops[hop.rawValue, default: []].append(nanoseconds)
    }

    mutating func appendHandling(_ nanoseconds: Int64) {
        guard handling.count < TimingRecorder.sampleLimit else { return }
        handling.append(nanoseconds)
    }

    /// Both sets of samples together (several replicas' recordings, for instance).
    public mutating func merge(_ other: TimingSamples) {
        for (hop, values) in other.hops { hops[hop, default: []] += values }
        handling += other.handling
    }
}

/// The time one request spent waiting on others, so that what is left of its handling time is
/// its own. Set for the request's task by the service's timing middleware.
public final class RequestTimer: Sendable {
    @TaskLocal public static var current: RequestTimer?

    private let awaited = Atomic<Int64>(0)

    public init() {}

    public func addWait(_ time: Duration) {
        awaited.add(time.nanoseconds, ordering: .relaxed)
    }

    public var waited: Duration { .nanoseconds(awaited.load(ordering: .relaxed)) }
}

/// Times the calls one client makes on one hop: each round trip is the current request's
/// wait, and half of it (less the time the far side says it spent) the hop's one-way delay.
public struct HopTimer: Sendable {
    public let recorder: TimingRecorder
    public let hop: Hop

    public init(_ recorder: TimingRecorder, _ hop: Hop) {
        self.recorder = recorder
        self.hop = hop
    }

    /// Records one round trip that took `roundTrip`, of which the far side spent `serverTime`.
    public func record(roundTrip: Duration, serverTime: Duration = .zero) {
        RequestTimer.current?.addWait(roundTrip)
        recorder.record(hop, oneWay: max(.zero, roundTrip - serverTime) / 2)
    }
}

/// Runs `body` as one round trip on `timer`'s hop (just runs it without a timer).
func timedRoundTrip<T, E: Error>(_ timer: HopTimer?, _ body: () async throws(E) -> T) async throws(E) -> T {
    guard let timer else { return try await body() }
    let start = ContinuousClock.now
    defer { timer.record(roundTrip: ContinuousClock.now - start) }
    return try await body()
}

