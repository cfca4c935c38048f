import AsyncHTTPClient
import BookingCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What an armed fault point does to the request that reaches it.
public enum PointAction: Sendable, Hashable, CustomStringConvertible {
    /// Waits there until the driver releases the point: a barrier that orders the real run's
    /// steps as a simulated counterexample ordered them.
    case park
    /// Waits there this long, then goes on.
    case hold(Duration)
    /// Ends the process there with `_exit`: no handler, `defer` or flush runs, as in a crash;
    /// PostgreSQL rolls its open transactions back when their connections drop.
    case crash
    /// Stops the whole process there (it sends itself SIGSTOP): a stop-the-world pause that
    /// begins exactly at the point; the driver, seeing it stopped, continues it (SIGCONT).
    case stopProcess

    public var description: String {
        switch self {
        case .park: "park"
        case .hold(let duration): "hold \(duration)"
        case .crash: "crash"
        case .stopProcess: "stop"
        }
    }
}

/// The real services' fault points when `overbook serve --fault-control` arms them: a driver
/// (`FaultControlClient`, over `/_overbook/faults` on the service's own loopback listener) arms
/// a point for the next request or requests that reach it. Without the flag a service has none
/// of this: its points do nothing, as `NoFaultPoints`.
public final class ControlledFaultPoints: FaultPoints {
    /// The exit status of a crash at a point: what a shell reports for SIGKILL, so a driver
    /// reading it sees a crash, not a clean exit or an error of ours.
    public static let crashStatus: Int32 = 137

    struct Armed {
        var point: AlgorithmPoint
        var action: PointAction
        var remaining: Int
        /// Requests that reach the point and pass before the action begins.
        var skip: Int
    }

    struct State {
        var armed: [Armed] = []
        var reached: [AlgorithmPoint: Int] = [:]
        var parked: [AlgorithmPoint: [CheckedContinuation<Void, Never>]] = [:]
        /// Bumped by each release of a point, so a request that decided to park just before a
        /// release does not park after it and wait forever.
        var releases: [AlgorithmPoint: Int] = [:]
    }

    /// The points this service reaches; arming another is refused.
    public let points: [AlgorithmPoint]
    private let state = Mutex(State())

    public init(points: [AlgorithmPoint]) {
        self.points = points
    }

    public static func booking() -> ControlledFaultPoints { ControlledFaultPoints(points: AlgorithmPoint.bookingPoints) }
    public static func inventory() -> ControlledFaultPoints {
        ControlledFaultPoints(points: AlgorithmPoint.allCases.filter(\.isInventoryPoint))
    }

    /// Arms `point` for the `count` requests that reach it after the next `skip`.
    public func arm(_ point: AlgorithmPoint, _ action: PointAction, count: Int = 1, skip: Int = 0) throws(InputProblem) {
        guard points.contains(point) else {
            throw .badRequest("this service does not reach \(point.rawValue); its points are \(points.map(\.rawValue).joined(separator: ", "))")
        }
        guard count >= 1 else { throw .badRequest("count must be at least 1") }
        guard skip >= 0 else { throw .badRequest("skip must be 0 or more") }
        state.withLock { $0.armed.append(Armed(point: point, action: action, remaining: count, skip: skip)) }
    }

    /// Lets every request parked at `point` (every point: `nil`) go on; how many there were.
    @discardableResult
    public func release(_ point: AlgorithmPoint?) -> Int {
        let waiting = state.withLock { state in
            var waiting: [CheckedContinuation<Void, Never>] = []
            for candidate in points where point == nil || candidate == point {
                waiting += state.parked.removeValue(forKey: candidate) ?? []
                state.releases[candidate, default: 0] += 1
            }
            return waiting
        }
        for continuation in waiting { continuation.resume() }
        return waiting.count
    }

    /// Disarms every point and releases every parked request.
    public func reset() {
        state.withLock { $0.armed.removeAll() }
        release(nil)
    }

    public func reached(_ point: AlgorithmPoint) async {
        let decision: (action: PointAction, release: Int)? = state.withLock { state in
            state.reached[point, default: 0] += 1
            guard let index = state.armed.firstIndex(where: { $0.point == point }) else { return nil }
            if state.armed[index].skip > 0 {
                state.armed[index].skip -= 1
                return nil
            }
            let action = state.armed[index].action
            state.armed[index].remaining -= 1
            if state.armed[index].remaining == 0 { state.armed.remove(at: index) }
            return (action, state.releases[point, default: 0])
        }
        guard let decision else { return }
        switch decision.action {
        case .hold(let duration):
            try? await Task.sleep(for: duration)
        case .crash:
            Self.crash(at: point)
        case .stopProcess:
            raise(SIGSTOP)
        case .park:
            await withCheckedContinuation { continuation in
                let releasedMeanwhile = state.withLock { state in
                    guard state.releases[point, default: 0] == decision.release else { return true }
                    state.parked[point, default: []].append(continuation)
                    return false
                }
                if releasedMeanwhile { continuation.resume() }
            }
        }
    }

    private static func crash(at point: AlgorithmPoint) -> Never {
        // write(2), not print: stdio buffers are not flushed by _exit, and the line is the
        // only trace the crash leaves in the service's log.
        let line = "overbook: fault control: crashing at \(point.rawValue)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        _exit(crashStatus)
    }

    /// What the driver sees: per point, how often it was reached, how many requests wait
    /// there now, and what is still armed.
    public struct Snapshot: Codable, Sendable, Equatable {
        public struct ArmedPoint: Codable, Sendable, Equatable {
            public var point: String
            public var action: String
            public var remaining: Int
        }

        public var reached: [String: Int]
        public var parked: [String: Int]
        public var armed: [ArmedPoint]

        public func parked(at point: AlgorithmPoint) -> Int { parked[point.rawValue] ?? 0 }
        public func reached(_ point: AlgorithmPoint) -> Int { reached[point.rawValue] ?? 0 }
    }

    public func snapshot() -> Snapshot {
        state.withLock { state in
            Snapshot(reached: Dictionary(uniqueKeysWithValues: state.reached.map { ($0.key.rawValue, $0.value) }),
                     parked: Dictionary(uniqueKeysWithValues: state.parked.map { ($0.key.rawValue, $0.value.count) }),
                     armed: state.armed.map { .init(point: $0.point.rawValue, action: $0.action.description, remaining: $0.remaining) })
        }
    }
}

/// The control endpoints, on the service's own listener (which `--fault-control` requires to be
/// loopback):
///
/// | endpoint | does |
/// |---|---|
/// | `GET /_overbook/faults` | the `Snapshot` |
/// | `POST /_overbook/faults/arm` `{"point", "action": "park"/"hold"/"stop"/"crash", "duration_ms"?, "count"?, "skip"?}` | arms a point |
/// | `POST /_overbook/faults/release` `{"point"?}` | releases the requests parked there (everywhere without a point) |
/// | `POST /_overbook/faults/reset` | disarms and releases everything |
enum FaultControlHTTP {
    static let root = "/_overbook/faults"

    struct ArmBody: Codable {
        var point: String
        var action: String
        var durationMs: Int64?
        var count: Int?
        var skip: Int?

        enum CodingKeys: String, CodingKey {
            case point, action, count, skip
            case durationMs = "duration_ms"
        }
    }

    struct ReleaseBody: Codable {
        var point: String?
    }

    struct Released: Codable {
        var released: Int
    }

    static func routes(_ points: ControlledFaultPoints) -> [HTTPServing.Route] {
        [
            .init(method: .get, path: root) { _, _ in json(points.snapshot()) },
            .init(method: .post, path: "\(root)/arm") { request, _ in
                let body: ArmBody = try decode(try await HTTPServing.body(of: request))
                let point = try self.point(body.point)
                let action: PointAction
                switch body.action {
                case "park": action = .park
                case "crash": action = .crash
                case "stop": action = .stopProcess
                case "hold":
                    guard let milliseconds = body.durationMs, milliseconds >= 0 else {
                        throw InputProblem.badRequest("a hold needs duration_ms (0 or more)")
                    }
                    action = .hold(.milliseconds(milliseconds))
                default:
                    throw InputProblem.badRequest("action must be park, hold, stop or crash; got \"\(body.action)\"")
                }
                try points.arm(point, action, count: body.count ?? 1, skip: body.skip ?? 0)
                return json(points.snapshot())
            },
            .init(method: .post, path: "\(root)/release") { request, _ in
                let data = try await HTTPServing.body(of: request)
                let body: ReleaseBody = data.isEmpty ? ReleaseBody() : try decode(data)
                let point = try body.point.map(self.point)
                return json(Released(released: points.release(point)))
            },
            .init(method: .post, path: "\(root)/reset") { _, _ in
                points.reset()
                return json(points.snapshot())
            },
        ]
    }

    static func point(_ text: String) throws(InputProblem) -> AlgorithmPoint {
        guard let point = AlgorithmPoint(rawValue: text) else {
            throw .badRequest("unknown point \"\(text)\"; the points are \(AlgorithmPoint.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return point
    }

    static func decode<T: Decodable>(_ data: Data) throws(InputProblem) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .badRequest("the body is not the JSON this endpoint takes: \(error)")
        }
    }

    static func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return HTTPServing.json(status: 200, (try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}

/// Where a fault-controlled service may listen: its control endpoints must not be reachable
/// from another machine.
public enum FaultControlAddress {
    public static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.")
    }
}

/// The driver's side of `/_overbook/faults`: arms, watches and releases one service's points.
public struct FaultControlClient: Sendable {
    /// The service's root, e.g. `http://127.0.0.1:5001` (an `/api` suffix is dropped).
    public let serviceURL: String
    let client: HTTPClient

    public init(serviceURL: String, client: HTTPClient) {
        var root = serviceURL
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/api") { root.removeLast(4) }
        self.serviceURL = root
        self.client = client
    }

    public func arm(_ point: AlgorithmPoint, _ action: PointAction, count: Int = 1, skip: Int = 0) async throws -> ControlledFaultPoints.Snapshot {
        var body = FaultControlHTTP.ArmBody(point: point.rawValue, action: "park", count: count, skip: skip)
        switch action {
        case .park: break
        case .crash: body.action = "crash"
        case .stopProcess: body.action = "stop"
        case .hold(let duration):
            body.action = "hold"
            body.durationMs = milliseconds(duration)
        }
        return try await send("/arm", body: try JSONEncoder().encode(body))
    }

    @discardableResult
    public func release(_ point: AlgorithmPoint? = nil) async throws -> Int {
        let released: FaultControlHTTP.Released = try await send("/release", body: try JSONEncoder().encode(FaultControlHTTP.ReleaseBody(point: point?.rawValue)))
        return released.released
    }

    public func reset() async throws {
        let _: ControlledFaultPoints.Snapshot = try await send("/reset", body: Data())
    }

    public func snapshot() async throws -> ControlledFaultPoints.Snapshot {
        try await send(nil, body: nil)
    }

    /// Polls until `count` requests are parked at `point`; `false` after `timeout`.
    public func waitUntilParked(at point: AlgorithmPoint, count: Int = 1, timeout: Duration) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if try await snapshot().parked(at: point) >= count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    private func send<T: Decodable>(_ path: String?, body: Data?) async throws -> T {
        var request = HTTPClientRequest(url: serviceURL + FaultControlHTTP.root + (path ?? ""))
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(5))
        let data = Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
        guard response.status == .ok else {
            throw FaultControlError("\(serviceURL)\(FaultControlHTTP.root)\(path ?? "") answered \(response.status.code): \(String(decoding: data, as: UTF8.self)); "
                                    + "was the service started with --fault-control?")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}

public struct FaultControlError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
