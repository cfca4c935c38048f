import AsyncHTTPClient
import Backends
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

/// Who a request works for, as the driver of a fault-controlled stack names it (`u3a1`: user 3,
/// first attempt): sent in a header, bound for the request's handling by a fault-controlled
/// service, and passed on in its own calls (booking to inventory), so a point can be armed for
/// one request and a barrier released for one request. Never set in a plain service.
public enum FaultOrigin {
    public static let header = "X-Overbook-Origin"
    @TaskLocal public static var label: String?
}

/// Binds `FaultOrigin.label` from the request's header, at most 64 characters, and counts the
/// service's API requests in flight (`ControlledFaultPoints.Snapshot.inFlight`).
struct FaultOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let points: ControlledFaultPoints

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix(FaultControlHTTP.root) else { return try await next(request, context) }
        points.inFlight.add(1, ordering: .relaxed)
        defer { points.inFlight.subtract(1, ordering: .relaxed) }
        let name = FaultOrigin.header.lowercased()
        guard let label = request.headers.first(where: { $0.name.canonicalName == name })?.value, !label.isEmpty, label.count <= 64 else {
            return try await next(request, context)
        }
        return try await FaultOrigin.$label.withValue(label) { try await next(request, context) }
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

    /// API requests being served now, counted by `FaultOriginMiddleware`: a request its client
    /// gave up on may still be writing, which the driver must wait out before the next run.
    let inFlight = Atomic(0)

    struct Armed {
        var point: AlgorithmPoint
        var action: PointAction
        var remaining: Int
        /// Requests that reach the point and pass before the action begins.
        var skip: Int
        /// Only requests of this `FaultOrigin` (any request: `nil`).
        var origin: String?
        /// Armings of one group act once between them: when one begins its action, the
        /// others are disarmed in the same step (a fault drawn at each of several points fires
        /// at one of them, and the process it stops or ends cannot be disarmed after).
        var group: String?
    }

    struct Parked {
        var origin: String?
        /// Resumed with what the request does on leaving the barrier (`nil`: it goes on).
        var continuation: CheckedContinuation<PointAction?, Never>
    }

    struct State {
        var armed: [Armed] = []
        var reached: [AlgorithmPoint: Int] = [:]
        var parked: [AlgorithmPoint: [Parked]] = [:]
        /// Bumped by each release of a point, so a request that decided to park just before a
        /// release does not park after it and wait forever.
        var releases: [AlgorithmPoint: Int] = [:]
        /// Per group, the point where its arming last acted.
        var groupActedAt: [String: AlgorithmPoint] = [:]
    }

    /// The points this service reaches; arming another is refused.
    public let points: [AlgorithmPoint]
    /// The per-statement database faults of the service's PostgreSQL pool.
    public let statements = StatementFaults()
    private let state = Mutex(State())

    public init(points: [AlgorithmPoint]) {
        self.points = points
    }

    public static func booking() -> ControlledFaultPoints { ControlledFaultPoints(points: AlgorithmPoint.bookingPoints) }
    public static func inventory() -> ControlledFaultPoints {
        ControlledFaultPoints(points: AlgorithmPoint.allCases.filter(\.isInventoryPoint))
    }

    /// Arms `point` for the `count` requests (of `origin` only, if given) that reach it after
    /// the next `skip`; armings of one `group` act once between them (see `Armed.group`).
    public func arm(_ point: AlgorithmPoint, _ action: PointAction, count: Int = 1, skip: Int = 0, origin: String? = nil,
                    group: String? = nil) throws(InputProblem) {
        guard points.contains(point) else {
            throw .badRequest("this service does not reach \(point.rawValue); its points are \(points.map(\.rawValue).joined(separator: ", "))")
        }
        guard count >= 1 else { throw .badRequest("count must be at least 1") }
        guard skip >= 0 else { throw .badRequest("skip must be 0 or more") }
        state.withLock { $0.armed.append(Armed(point: point, action: action, remaining: count, skip: skip, origin: origin, group: group)) }
    }

    /// Lets the requests parked at `point` (every point: `nil`; of `origin` only, if given) go
    /// on, each doing `then` first (`nil`: nothing; a hold waits, a stop or crash acts right
    /// there); how many there were.
    @discardableResult
    public func release(_ point: AlgorithmPoint?, origin: String? = nil, then: PointAction? = nil) -> Int {
        let waiting = state.withLock { state in
            var waiting: [Parked] = []
            for candidate in points where point == nil || candidate == point {
                guard let here = state.parked[candidate] else { continue }
                let (leaving, staying) = (here.filter { origin == nil || $0.origin == origin }, here.filter { origin != nil && $0.origin != origin })
                waiting += leaving
                state.parked[candidate] = staying.isEmpty ? nil : staying
                // Only a release of everyone there can overtake a request about to park.
                if origin == nil { state.releases[candidate, default: 0] += 1 }
            }
            return waiting
        }
        for parked in waiting { parked.continuation.resume(returning: then) }
        return waiting.count
    }

    /// Disarms `point` (for every origin), leaving the other points armed and every parked
    /// request where it is.
    public func disarm(_ point: AlgorithmPoint) {
        state.withLock { $0.armed.removeAll { $0.point == point } }
    }

    /// Disarms every point and every statement fault, and releases every parked request.
    public func reset() {
        state.withLock { $0.armed.removeAll() }
        statements.reset()
        release(nil)
    }

    public func reached(_ point: AlgorithmPoint) async {
        let origin = FaultOrigin.label
        let decision: (action: PointAction, release: Int)? = state.withLock { state in
            state.reached[point, default: 0] += 1
            guard let index = state.armed.firstIndex(where: { $0.point == point && ($0.origin == nil || $0.origin == origin) }) else { return nil }
            if state.armed[index].skip > 0 {
                state.armed[index].skip -= 1
                return nil
            }
            let action = state.armed[index].action
            if let group = state.armed[index].group {
                state.groupActedAt[group] = point
                state.armed.removeAll { $0.group == group }
                return (action, state.releases[point, default: 0])
            }
            state.armed[index].remaining -= 1
            if state.armed[index].remaining == 0 { state.armed.remove(at: index) }
            return (action, state.releases[point, default: 0])
        }
        guard let decision else { return }
        var action: PointAction? = decision.action
        while let next = action {
            action = nil
            switch next {
            case .hold(let duration):
                try? await Task.sleep(for: duration)
            case .crash:
                Self.crash(at: point)
            case .stopProcess:
                raise(SIGSTOP)
            case .park:
                action = await withCheckedContinuation { (continuation: CheckedContinuation<PointAction?, Never>) in
                    let releasedMeanwhile = state.withLock { state in
                        guard state.releases[point, default: 0] == decision.release else { return true }
                        state.parked[point, default: []].append(Parked(origin: origin, continuation: continuation))
                        return false
                    }
                    if releasedMeanwhile { continuation.resume(returning: nil) }
                }
                if case .park = action { action = nil }
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
        /// Per point, the origins of the requests parked there that have one, sorted.
        public var parkedOrigins: [String: [String]]?
        public var armed: [ArmedPoint]
        /// The service's API requests being served now (the control routes not counted).
        public var inFlight: Int?
        /// Per arming group, the point where it last acted.
        public var groupActedAt: [String: String]?

        public func parked(at point: AlgorithmPoint) -> Int { parked[point.rawValue] ?? 0 }
        /// Whether a request of `origin` is parked at `point`.
        public func isParked(_ origin: String, at point: AlgorithmPoint) -> Bool { parkedOrigins?[point.rawValue]?.contains(origin) ?? false }
        /// Where a request of `origin` is parked, if anywhere.
        public func parkingPoint(of origin: String) -> String? { parkedOrigins?.first { $0.value.contains(origin) }?.key }
        public func reached(_ point: AlgorithmPoint) -> Int { reached[point.rawValue] ?? 0 }
    }

    public func snapshot() -> Snapshot {
        state.withLock { state in
            Snapshot(reached: Dictionary(uniqueKeysWithValues: state.reached.map { ($0.key.rawValue, $0.value) }),
                     parked: Dictionary(uniqueKeysWithValues: state.parked.map { ($0.key.rawValue, $0.value.count) }),
                     parkedOrigins: Dictionary(uniqueKeysWithValues: state.parked.map { ($0.key.rawValue, $0.value.compactMap(\.origin).sorted()) }),
                     armed: state.armed.map { .init(point: $0.point.rawValue, action: $0.action.description, remaining: $0.remaining) },
                     inFlight: inFlight.load(ordering: .relaxed),
                     groupActedAt: state.groupActedAt.isEmpty ? nil : Dictionary(uniqueKeysWithValues: state.groupActedAt.map { ($0.key, $0.value.rawValue) }))
        }
    }
}

/// The per-statement faults a service has armed and what they did since arming.
public struct StatementFaultsSnapshot: Codable, Sendable {
    public var rules: [StatementFaultRule]
    public var firings: [StatementFaults.Firing]
    /// Firings past `StatementFaults.keptFirings`, counted only.
    public var dropped: Int
}

/// The control endpoints, on the service's own listener (which `--fault-control` requires to be
/// loopback):
///
/// | endpoint | does |
/// |---|---|
/// | `GET /_overbook/faults` | the `Snapshot` |
/// | `POST /_overbook/faults/arm` `{"point", "action": "park"/"hold"/"stop"/"crash", "duration_ms"?, "count"?, "skip"?, "origin"?, "group"?}` | arms a point (for one origin's requests only, with `origin`; once between the armings of a `group`) |
/// | `POST /_overbook/faults/release` `{"point"?, "origin"?, "then"?: "go"/"hold"/"stop"/"crash", "duration_ms"?}` | releases the requests parked there (everywhere without a point; one origin's only with `origin`), each doing `then` first |
/// | `POST /_overbook/faults/disarm` `{"point"}` | disarms that point only |
/// | `POST /_overbook/faults/statements` `{"seed", "rules": [{"kind", "numerator", "denominator", "limit"?, "timeout_ms"?, "from_ms"?, "until_ms"?}]}` | arms the per-statement database faults (replacing any), `StatementFaults` |
/// | `GET /_overbook/faults/statements` | the rules armed and their firings since |
/// | `POST /_overbook/faults/statements/abort-next` `{"sqlstate"}` | the next statement of a transaction open in the pool (its COMMIT included) is aborted with it; `{"planted": false}` when none is open |
/// | `POST /_overbook/faults/reset` | disarms and releases everything |
enum FaultControlHTTP {
    static let root = "/_overbook/faults"

    struct ArmBody: Codable {
        var point: String
        var action: String
        var durationMs: Int64?
        var count: Int?
        var skip: Int?
        var origin: String?
        var group: String?

        enum CodingKeys: String, CodingKey {
            case point, action, count, skip, origin, group
            case durationMs = "duration_ms"
        }
    }

    struct ReleaseBody: Codable {
        var point: String?
        var origin: String?
        /// What the released requests do first: "go" (the default), "hold", "stop" or "crash".
        var then: String?
        var durationMs: Int64?

        enum CodingKeys: String, CodingKey {
            case point, origin, then
            case durationMs = "duration_ms"
        }
    }

    struct Released: Codable {
        var released: Int
    }

    struct StatementsBody: Codable {
        var seed: UInt64
        var rules: [StatementFaultRule]
    }

    struct AbortNextBody: Codable {
        var sqlstate: String
    }

    struct Planted: Codable {
        var planted: Bool
    }

    static func statementsSnapshot(_ faults: StatementFaults) -> StatementFaultsSnapshot {
        let (kept, dropped) = faults.firings
        return StatementFaultsSnapshot(rules: faults.rules, firings: kept, dropped: dropped)
    }

    static func routes(_ points: ControlledFaultPoints) -> [HTTPServing.Route] {
        [
            .init(method: .get, path: root) { _, _ in json(points.snapshot()) },
            .init(method: .post, path: "\(root)/arm") { request, _ in
                let body: ArmBody = try decode(try await HTTPServing.body(of: request))
                let point = try self.point(body.point)
                guard let action = try self.action(body.action, durationMs: body.durationMs) else {
                    throw InputProblem.badRequest("arming needs an action of park, hold, stop or crash")
                }
                try points.arm(point, action, count: body.count ?? 1, skip: body.skip ?? 0, origin: try origin(body.origin), group: try origin(body.group, "a group"))
                return json(points.snapshot())
            },
            .init(method: .post, path: "\(root)/release") { request, _ in
                let data = try await HTTPServing.body(of: request)
                let body: ReleaseBody = data.isEmpty ? ReleaseBody() : try decode(data)
                let point = try body.point.map(self.point)
                let then: PointAction? = try body.then.flatMap { try self.action($0, durationMs: body.durationMs) }
                return json(Released(released: points.release(point, origin: try origin(body.origin), then: then)))
            },
            .init(method: .post, path: "\(root)/disarm") { request, _ in
                let body: ReleaseBody = try decode(try await HTTPServing.body(of: request))
                guard let name = body.point else { throw InputProblem.badRequest("disarm needs a point") }
                points.disarm(try self.point(name))
                return json(points.snapshot())
            },
            .init(method: .post, path: "\(root)/statements") { request, _ in
                let body: StatementsBody = try decode(try await HTTPServing.body(of: request))
                do throws(BackendConfigurationError) {
                    try points.statements.arm(body.rules, seed: body.seed)
                } catch {
                    throw InputProblem.badRequest(error.message)
                }
                return json(statementsSnapshot(points.statements))
            },
            .init(method: .get, path: "\(root)/statements") { _, _ in json(statementsSnapshot(points.statements)) },
            .init(method: .post, path: "\(root)/statements/abort-next") { request, _ in
                let body: AbortNextBody = try decode(try await HTTPServing.body(of: request))
                guard body.sqlstate.count == 5, body.sqlstate.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isUppercase) }) else {
                    throw InputProblem.badRequest("sqlstate must be a five-character SQLSTATE such as 40001")
                }
                return json(Planted(planted: points.statements.abortNextTransactionStatement(sqlstate: body.sqlstate)))
            },
            .init(method: .post, path: "\(root)/reset") { _, _ in
                points.reset()
                return json(points.snapshot())
            },
        ]
    }

    /// "park", "hold" (with `durationMs`), "stop", "crash"; "go" is `nil`: no action.
    static func action(_ text: String, durationMs: Int64?) throws(InputProblem) -> PointAction? {
        switch text {
        case "go": return nil
        case "park": return .park
        case "crash": return .crash
        case "stop": return .stopProcess
        case "hold":
            guard let milliseconds = durationMs, milliseconds >= 0 else { throw .badRequest("a hold needs duration_ms (0 or more)") }
            return .hold(.milliseconds(milliseconds))
        default:
            throw .badRequest("an action is go, park, hold, stop or crash; got \"\(text)\"")
        }
    }

    static func origin(_ text: String?, _ what: String = "an origin") throws(InputProblem) -> String? {
        guard let text else { return nil }
        guard !text.isEmpty, text.count <= 64 else { throw .badRequest("\(what) is 1 to 64 characters") }
        return text
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
        self.serviceURL = HTTPServing.serviceRoot(serviceURL)
        self.client = client
    }

    public func arm(_ point: AlgorithmPoint, _ action: PointAction, count: Int = 1, skip: Int = 0, origin: String? = nil,
                    group: String? = nil) async throws -> ControlledFaultPoints.Snapshot {
        let (name, durationMs) = Self.wire(action)
        let body = FaultControlHTTP.ArmBody(point: point.rawValue, action: name, durationMs: durationMs, count: count, skip: skip, origin: origin, group: group)
        return try await send("/arm", body: try JSONEncoder().encode(body))
    }

    /// Releases the requests parked at `point` (everywhere: `nil`; of `origin` only, if
    /// given), each doing `then` first.
    @discardableResult
    public func release(_ point: AlgorithmPoint? = nil, origin: String? = nil, then: PointAction? = nil) async throws -> Int {
        let (name, durationMs) = then.map(Self.wire) ?? ("go", nil)
        let body = FaultControlHTTP.ReleaseBody(point: point?.rawValue, origin: origin, then: name, durationMs: durationMs)
        let released: FaultControlHTTP.Released = try await send("/release", body: try JSONEncoder().encode(body))
        return released.released
    }

    private static func wire(_ action: PointAction) -> (String, Int64?) {
        switch action {
        case .park: ("park", nil)
        case .crash: ("crash", nil)
        case .stopProcess: ("stop", nil)
        case .hold(let duration): ("hold", milliseconds(duration))
        }
    }

    /// Disarms `point`; the other points stay armed.
    public func disarm(_ point: AlgorithmPoint) async throws {
        let body = FaultControlHTTP.ReleaseBody(point: point.rawValue)
        let _: ControlledFaultPoints.Snapshot = try await send("/disarm", body: try JSONEncoder().encode(body))
    }

    public func reset() async throws {
        let _: ControlledFaultPoints.Snapshot = try await send("/reset", body: Data())
    }

    /// Arms the service's per-statement database faults, replacing any armed before.
    public func armStatements(_ rules: [StatementFaultRule], seed: UInt64) async throws {
        let body = FaultControlHTTP.StatementsBody(seed: seed, rules: rules)
        let _: StatementFaultsSnapshot = try await send("/statements", body: try JSONEncoder().encode(body))
    }

    /// The per-statement faults armed in the service and what they did since.
    public func statements() async throws -> StatementFaultsSnapshot {
        try await send("/statements", body: nil)
    }

    /// postgres-abort at a fault point: the next statement of a transaction open in the
    /// service's pool is aborted with `sqlstate`; `false` when none is open.
    public func abortNextTransactionStatement(sqlstate: String) async throws -> Bool {
        let planted: FaultControlHTTP.Planted = try await send("/statements/abort-next",
                                                               body: try JSONEncoder().encode(FaultControlHTTP.AbortNextBody(sqlstate: sqlstate)))
        return planted.planted
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
