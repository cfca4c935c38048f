import BookingCore

/// A value handed between a parked task and the timer that wakes it; both run on the
/// simulator's thread.
final class Box<Value>: @unchecked Sendable {
    var value: Value?
}

/// The simulated world around the algorithms: the network (latency per hop), Redis, the two
/// PostgreSQL databases, and the bookkeeping that ties transactions to processes.
public final class SimWorld: @unchecked Sendable {
    public let simulator: Simulator
    public let latency: LatencyProfile
    /// `latency` by `Hop` ordinal: sampled on every message, so no hashing there.
    private let latencyByHop: [LatencyDistribution]
    public let redis = RedisModel()
    public let redisProcess = ProcessContext(id: ProcessID(kind: .redis, index: 0), incarnation: 0)
    public let inventoryDatabase: SimPostgresServer
    public let bookingDatabase: SimPostgresServer
    /// PostgreSQL's `deadlock_timeout`: how long a blocked statement waits before the server
    /// looks for a cycle.
    public var deadlockTimeout: Int64 = Duration.seconds(1).nanoseconds
    private var nextMessage = 0
    /// Called after every successful commit, with the database committed to.
    public var onCommit: ((SimPostgresServer) -> Void)?
    /// Who set each lock token, so a lock left behind can be traced to its process.
    public private(set) var lockSetters: [String: ProcessContext] = [:]

    public init(simulator: Simulator, latency: LatencyProfile, rooms: [Room], availability: [RoomNight: Int]) {
        self.simulator = simulator
        self.latency = latency
        latencyByHop = Hop.allCases.map { latency[$0] }
        inventoryDatabase = SimPostgresServer(model: PostgresModel(name: "inventory_db", rooms: rooms, availability: availability),
                                              process: ProcessContext(id: ProcessID(kind: .postgres, index: 0), incarnation: 0))
        bookingDatabase = SimPostgresServer(model: PostgresModel(name: "booking_db"),
                                            process: ProcessContext(id: ProcessID(kind: .postgres, index: 1), incarnation: 0))
        inventoryDatabase.world = self
        bookingDatabase.world = self
    }

    public var now: Int64 { simulator.now }

    func trace(_ event: TraceEvent) { simulator.trace.append(event) }

    /// One message's delay on `hop`, drawn from the world's stream.
    public func sampleLatency(_ hop: Hop) -> Int64 {
        let distribution = latencyByHop[hop.ordinal]
        var low = distribution.min.nanoseconds
        var high = distribution.max.nanoseconds
        if let tail = distribution.tail, simulator.world.chance(tail.numerator, in: tail.denominator) {
            low = tail.min.nanoseconds
            high = tail.max.nanoseconds
        }
        return simulator.world.inRange(low, high)
    }

    func recordLockSetter(_ token: String, _ caller: ProcessContext) { lockSetters[token] = caller }

    func nextMessageID() -> Int {
        nextMessage += 1
        return nextMessage
    }

    /// Whether `caller` may act now: on the simulator's thread, before the seal, and alive.
    /// A task of a crashed process that was already running parks for good instead.
    func admit(_ caller: ProcessContext, _ what: @autoclosure () -> String) async -> Bool {
        guard simulator.onSimulatorThread(what()), !simulator.sealed else { return false }
        if !simulator.isAlive(caller) {
            await simulator.park(caller, "crashed") { _ in }
            return false
        }
        return true
    }

    /// A request and its reply over `hop`: `serve` runs at the server when the request arrives
    /// and calls its reply callback when done (at once, or later if the server blocks). `nil`
    /// when the run ended before the reply came back.
    func roundTrip<T>(_ caller: ProcessContext, _ hop: Hop, _ label: StaticString,
                      serve: @escaping (_ reply: @escaping (T) -> Void) -> Void) async -> T? {
        guard await admit(caller, "\(label) by \(caller)") else { return nil }
        let box = Box<T>()
        let simulator = self.simulator
        await simulator.park(caller, label) { waker in
            simulator.schedule(after: self.sampleLatency(hop)) {
                serve { value in
                    simulator.schedule(after: self.sampleLatency(hop)) {
                        box.value = value
                        simulator.wake(waker)
                    }
                }
            }
        }
        return box.value
    }
}

// MARK: Network

/// Requests that can name their endpoint in a trace.
public protocol TraceableRequest: Sendable {
    var endpoint: String { get }
}

extension InventoryRequest: TraceableRequest {
    public var endpoint: String {
        switch self {
        case .health: "GET /api/health"
        case .listRooms: "GET /api/rooms"
        case .room: "GET /api/rooms/{id}"
        case .availability: "GET /api/rooms/{id}/availability"
        case .reserve: "POST /api/rooms/{id}/reserve"
        case .release: "POST /api/rooms/{id}/release"
        }
    }
}

extension BookingRequest: TraceableRequest {
    public var endpoint: String {
        switch self {
        case .health: "GET /api/health"
        case .confirm: "POST /api/bookings/confirm"
        case .booking: "GET /api/bookings/{id}"
        case .userBookings: "GET /api/bookings/user/{user_id}"
        case .allBookings: "GET /api/bookings"
        }
    }
}

/// A server process: its current incarnation and the handler that incarnation runs.
public final class SimServiceProcess<Request: TraceableRequest>: @unchecked Sendable {
    public let id: ProcessID
    public internal(set) var context: ProcessContext
    public internal(set) var handler: @Sendable (Request) async -> APIResponse

    public init(id: ProcessID, handler: @escaping @Sendable (Request) async -> APIResponse) {
        self.id = id
        self.context = ProcessContext(id: id, incarnation: 0)
        self.handler = handler
    }
}

/// A caller's connection to a service over the simulated network. With several replicas the
/// caller's load balancer picks one per request from the world's stream.
public struct SimRemoteService<Request: TraceableRequest>: RemoteService {
    let world: SimWorld
    let caller: ProcessContext
    let hop: Hop
    let replicas: [SimServiceProcess<Request>]

    public init(world: SimWorld, caller: ProcessContext, hop: Hop, replicas: [SimServiceProcess<Request>]) {
        precondition(!replicas.isEmpty, "a remote service needs at least one replica")
        self.world = world
        self.caller = caller
        self.hop = hop
        self.replicas = replicas
    }

    public func call(_ request: Request, timeout: Duration) async throws(NetworkError) -> APIResponse {
        guard await world.admit(caller, "\(request.endpoint) by \(caller)") else {
            throw .unreachable("the simulation has ended")
        }
        let simulator = world.simulator
        let world = self.world
        let hop = self.hop
        let server = replicas.count == 1 ? replicas[0] : replicas[simulator.world.below(replicas.count)]
        let message = world.nextMessageID()
        let caller = self.caller
        let origin = RequestOrigin.user
        world.trace(TraceEvent(time: world.now, process: caller, op: .send, subject: .process(server.id),
                               a: Int64(message), text: request.endpoint))
        let box = Box<Result<APIResponse, NetworkError>>()
        await simulator.park(caller, "awaiting a reply") { waker in
            let timer = simulator.schedule(after: timeout.nanoseconds) {
                guard box.value == nil else { return }
                box.value = .failure(.timeout)
                world.trace(TraceEvent(time: world.now, process: caller, op: .timeout, subject: .process(server.id), a: Int64(message), origin: origin))
                simulator.wake(waker)
            }
            simulator.schedule(after: world.sampleLatency(hop)) {
                let serverContext = server.context
                // A request to a crashed process is lost; the caller's timeout answers.
                guard simulator.isAlive(serverContext) else { return }
                world.trace(TraceEvent(time: world.now, process: serverContext, op: .deliver, subject: .process(caller.id),
                                       a: Int64(message), text: request.endpoint, origin: origin))
                let handler = server.handler
                simulator.spawn {
                    let response = await RequestOrigin.$user.withValue(origin) { await handler(request) }
                    guard simulator.isAlive(serverContext), !simulator.sealed else { return }
                    world.trace(TraceEvent(time: world.now, process: serverContext, op: .respond, subject: .process(caller.id),
                                           a: Int64(message), b: Int64(response.status), origin: origin))
                    simulator.schedule(after: world.sampleLatency(hop)) {
                        guard box.value == nil else { return }
                        box.value = .success(response)
                        timer.cancel()
                        world.trace(TraceEvent(time: world.now, process: caller, op: .receive, subject: .process(server.id),
                                               a: Int64(message), b: Int64(response.status), origin: origin))
                        simulator.wake(waker)
                    }
                }
            }
        }
        guard let result = box.value else { throw .unreachable("the simulation has ended") }
        return try result.get()
    }
}

// MARK: Redis

/// The lock service as a booking replica sees it: each command is a round trip on the
/// booking-redis hop, executed by the Redis model when it arrives.
public struct SimLockService: LockService {
    let world: SimWorld
    let caller: ProcessContext

    public init(world: SimWorld, caller: ProcessContext) {
        self.world = world
        self.caller = caller
    }

    private func traceExpiry(_ key: String, origin: Int) {
        guard world.redis.lastExpired != nil else { return }
        world.trace(TraceEvent(time: world.now, process: world.redisProcess, op: .lockExpired, subject: .key(key), origin: origin))
    }

    public func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        let origin = RequestOrigin.user
        let acquired: Bool? = await world.roundTrip(caller, .bookingRedis, "SET NX") { reply in
            let done = world.redis.set(key, token, onlyIfAbsent: true, ttl: ttl.nanoseconds, now: world.now)
            traceExpiry(key, origin: origin)
            if done { world.recordLockSetter(token, caller) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockAcquire, subject: .key(key),
                                   a: done ? 1 : 0, b: ttl.nanoseconds, text: token, origin: origin))
            reply(done)
        }
        guard let acquired else { throw .unavailable("the simulation has ended") }
        return acquired
    }

    public func release(key: String, token: String) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        let origin = RequestOrigin.user
        let released: Bool? = await world.roundTrip(caller, .bookingRedis, "EVAL compare-and-delete") { reply in
            let done = world.redis.compareAndDelete(key, token: token, now: world.now)
            traceExpiry(key, origin: origin)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockRelease, subject: .key(key),
                                   a: done ? 1 : 0, text: token, origin: origin))
            reply(done)
        }
        guard let released else { throw .unavailable("the simulation has ended") }
        return released
    }

    public func holder(of key: String) async throws(LockError) -> String? {
        let world = self.world
        let caller = self.caller
        let origin = RequestOrigin.user
        let value: String?? = await world.roundTrip(caller, .bookingRedis, "GET") { reply in
            let value = world.redis.get(key, now: world.now)
            traceExpiry(key, origin: origin)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockGet, subject: .key(key), text: value ?? "", origin: origin))
            reply(value)
        }
        guard let value else { throw .unavailable("the simulation has ended") }
        return value
    }
}

/// Lock tokens drawn from the world's stream, shaped like the seed's UUIDs.
public struct SimIdentifiers: IdentifierSource {
    let simulator: Simulator
    public init(simulator: Simulator) { self.simulator = simulator }
    public func lockToken() -> String {
        let high = simulator.world.next()
        let low = simulator.world.next()
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let a = hex(high >> 32, 8), b = hex((high >> 16) & 0xffff, 4), c = hex(high & 0xffff, 4)
        let d = hex(low >> 48, 4), e = hex(low & 0xffff_ffff_ffff, 12)
        return "\(a)-\(b)-\(c)-\(d)-\(e)"
    }
}
