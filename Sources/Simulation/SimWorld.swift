import BookingCore
import RunObservation

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
    /// Tokens whose holder tried to release them (whether or not the release got through).
    public private(set) var releaseAttempts: Set<String> = []
    public internal(set) var faults: FaultInjector?
    public internal(set) var coverage = Coverage()
    public internal(set) var crashedProcesses: Set<ProcessID> = []
    /// Brings a crashed process back as the given incarnation.
    var restarters: [ProcessID: (ProcessContext) -> Void] = [:]
    private var partitions: [(a: ProcessID, b: ProcessID, until: Int64)] = []
    /// Redis refuses connections until then (restarting).
    var redisDownUntil: Int64 = 0
    /// How long a booking replica waits for Redis (the client library's timeout).
    public var redisTimeout: Int64 = Duration.seconds(1).nanoseconds
    /// How long a client waits for PostgreSQL before it gives the connection up.
    public var postgresTimeout: Int64 = Duration.seconds(5).nanoseconds

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
        simulator.drawLatency(latencyByHop[hop.ordinal])
    }

    /// A hash of everything the rest of the run depends on: virtual time, the scheduler's state
    /// (ready jobs, parked tasks, timers, pauses, crashes), Redis, both databases (committed and
    /// pending rows), partitions, fault firings, and every task's observations so far (a task's
    /// local state is a function of what it observed, its code being deterministic). Needs
    /// `trace.tracksTasks` on from the start of the run.
    public func stateDigest() -> UInt64 {
        var hasher = FNV1a()
        simulator.digest(into: &hasher)
        var tasks = UnorderedDigest()
        simulator.trace.digestTasks(into: &tasks)
        tasks.feed(into: &hasher)
        redis.digest(into: &hasher, now: now)
        inventoryDatabase.model.digest(into: &hasher)
        bookingDatabase.model.digest(into: &hasher)
        faults?.digest(into: &hasher)
        hasher.feed(max(0, redisDownUntil &- now))
        for partition in partitions where partition.until > now {
            hasher.feed(Int64(partition.a.kind.order) << 32 | Int64(partition.a.index))
            hasher.feed(Int64(partition.b.kind.order) << 32 | Int64(partition.b.index))
            hasher.feed(partition.until &- now)
        }
        return hasher.value
    }

    func recordLockSetter(_ token: String, _ caller: ProcessContext) { lockSetters[token] = caller }
    func recordReleaseAttempt(_ token: String) { releaseAttempts.insert(token) }

    func nextMessageID() -> Int {
        nextMessage += 1
        return nextMessage
    }

    /// Whether `caller` may act now: on the simulator's thread, before the seal, alive, and not
    /// paused (a paused process waits here for its pause to end). A task of a crashed process
    /// that was already running parks for good instead.
    func admit(_ caller: ProcessContext, _ what: @autoclosure () -> String) async -> Bool {
        guard simulator.onSimulatorThread(what()), !simulator.sealed else { return false }
        if let until = simulator.pauseEnd(of: caller.id) {
            let simulator = self.simulator
            await simulator.park(caller, "paused") { waker in simulator.schedule(at: until) { simulator.wake(waker) } }
            if simulator.sealed { return false }
        }
        if !simulator.isAlive(caller) {
            await simulator.park(caller, "crashed") { _ in }
            return false
        }
        return true
    }

    /// How a request-reply exchange ended.
    enum Exchange<T> {
        case reply(T)
        /// No reply within the timeout; `lostReply` is what the server answered if it did.
        case timedOut(lostReply: T?)
        /// The run ended (sealed) first.
        case ended
    }

    /// A request and its reply over `hop` between `caller` and `server`: `serve` runs at the
    /// server when the request arrives and calls its reply callback when done (at once, or
    /// later if the server blocks). Latency, loss, spikes and partitions apply both ways.
    func exchange<T>(_ caller: ProcessContext, _ hop: Hop, to server: ProcessID, _ label: StaticString, timeout: Int64,
                     serve: @escaping (_ reply: @escaping (T) -> Void) -> Void) async -> Exchange<T> {
        guard await admit(caller, "\(label) by \(caller)") else { return .ended }
        let fate = faults?.fate(of: hop) ?? MessageFate()
        let box = Box<Exchange<T>>()
        let lost = Box<T>()
        let simulator = self.simulator
        await simulator.park(caller, label) { waker in
            let timer = simulator.schedule(after: timeout) {
                guard box.value == nil else { return }
                box.value = .timedOut(lostReply: lost.value)
                simulator.wake(waker)
            }
            simulator.schedule(after: self.sampleLatency(hop) + fate.requestDelay) {
                if self.dropped(from: caller.id, to: server, lost: fate.requestLost, mark: .requestLost) { return }
                serve { value in
                    simulator.schedule(after: self.sampleLatency(hop) + fate.replyDelay) {
                        if self.dropped(from: server, to: caller.id, lost: fate.replyLost, mark: .replyLost) {
                            // The work happened; the caller learns nothing and times out.
                            lost.value = value
                            return
                        }
                        guard box.value == nil else { return }
                        box.value = .reply(value)
                        timer.cancel()
                        simulator.wake(waker)
                    }
                }
            }
        }
        return box.value ?? .ended
    }

    /// Whether a message from `from` to `to` is dropped (lost, or cut by a partition); counts it.
    func dropped(from: ProcessID, to: ProcessID, lost: Bool, mark: CoverageMark) -> Bool {
        if lost {
            coverage.hit(mark)
            return true
        }
        if isPartitioned(from, to) {
            coverage.hit(.partitionDropped)
            return true
        }
        return false
    }

    // MARK: Faults carried out

    func isPartitioned(_ a: ProcessID, _ b: ProcessID) -> Bool {
        guard !partitions.isEmpty else { return false }
        partitions.removeAll { $0.until <= now }
        return partitions.contains { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }
    }

    /// Crashes `process`: its tasks never resume, its transactions roll back, its locks stay
    /// until they expire; it restarts as a new incarnation after `downtime`.
    public func crash(_ process: ProcessID, downtime: Int64) {
        let next = simulator.crash(process)
        crashedProcesses.insert(process)
        inventoryDatabase.disconnect(process)
        bookingDatabase.disconnect(process)
        simulator.schedule(after: downtime) { [self] in
            trace(TraceEvent(time: now, process: next, op: .restart, origin: 0))
            restarters[process]?(next)
        }
    }

    /// Carries out a fault now, on `process` where the fault aims at one.
    func carryOut(_ spec: FaultSpec, on process: ProcessID?, origin: Int, at point: AlgorithmPoint? = nil) {
        let target = process ?? spec.target.map { faults!.resolve($0) }
        let duration = spec.duration.nanoseconds
        coverage.hit(CoverageMark.fired(spec.kind))
        trace(TraceEvent(time: now, process: target.map { ProcessContext(id: $0, incarnation: simulator.incarnation(of: $0)) } ?? redisProcess,
                         op: .fault, subject: .key(spec.kind.rawValue), a: duration, text: point?.rawValue ?? "", origin: origin))
        switch spec.kind {
        case .pause:
            if let target { simulator.pause(target, until: now + duration) }
        case .crash:
            if let target { crash(target, downtime: duration) }
        case .partition:
            let peers = spec.peers.map { faults!.resolve($0) }
            if peers.count == 2 { partitions.append((peers[0], peers[1], now + duration)) }
        case .redisRestart:
            redis.flushAll()
            redisDownUntil = now + duration
        case .redisFailover:
            if redis.failover(losingWritesSince: now - duration) > 0 { coverage.hit(.redisFailoverLostKey) }
        case .redisClockJump:
            redis.clockOffset += duration
        case .connectionLoss:
            if let target {
                inventoryDatabase.disconnect(target)
                bookingDatabase.disconnect(target)
            }
        case .postgresAbort:
            if let target {
                inventoryDatabase.failNextStatement(of: target, with: .serializationFailure)
                bookingDatabase.failNextStatement(of: target, with: .serializationFailure)
            }
        case .latencySpike, .requestLoss, .replyLoss, .statementTimeout, .clientRetry:
            break
        }
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
        let server = replicas.count == 1 ? replicas[0] : replicas[Int(simulator.draw(.detail, 0, Int64(replicas.count - 1)))]
        let message = world.nextMessageID()
        let caller = self.caller
        let origin = RequestOrigin.user
        let fate = world.faults?.fate(of: hop) ?? MessageFate()
        world.trace(TraceEvent(time: world.now, process: caller, op: .send, subject: .process(server.id),
                               a: Int64(message), text: request.endpoint))
        let box = Box<Result<APIResponse, NetworkError>>()
        await simulator.park(caller, "awaiting a reply") { waker in
            let timer = simulator.schedule(after: timeout.nanoseconds) {
                guard box.value == nil else { return }
                box.value = .failure(.timeout)
                world.coverage.hit(.clientTimedOut)
                world.trace(TraceEvent(time: world.now, process: caller, op: .timeout, subject: .process(server.id), a: Int64(message), origin: origin))
                simulator.wake(waker)
            }
            simulator.schedule(after: world.sampleLatency(hop) + fate.requestDelay) {
                let serverContext = server.context
                // A request to a crashed process is lost; the caller's timeout answers.
                guard simulator.isAlive(serverContext),
                      !world.dropped(from: caller.id, to: server.id, lost: fate.requestLost, mark: .requestLost) else { return }
                world.trace(TraceEvent(time: world.now, process: serverContext, op: .deliver, subject: .process(caller.id),
                                       a: Int64(message), text: request.endpoint, origin: origin))
                let handler = server.handler
                simulator.spawn {
                    let response = await RequestOrigin.$user.withValue(origin) { await handler(request) }
                    guard simulator.isAlive(serverContext), !simulator.sealed else { return }
                    world.trace(TraceEvent(time: world.now, process: serverContext, op: .respond, subject: .process(caller.id),
                                           a: Int64(message), b: Int64(response.status), origin: origin))
                    if case .error(let text) = response.body, text == BookingService<SimClock>.lockExhaustedMessage {
                        world.coverage.hit(.lockRetriesExhausted)
                    }
                    simulator.schedule(after: world.sampleLatency(hop) + fate.replyDelay) {
                        guard box.value == nil,
                              !world.dropped(from: server.id, to: caller.id, lost: fate.replyLost, mark: .replyLost) else { return }
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
/// booking-redis hop, executed by the Redis model when it arrives, refused while Redis
/// restarts, and timed out by the client library after `redisTimeout`.
public struct SimLockService: LockService {
    let world: SimWorld
    let caller: ProcessContext

    public init(world: SimWorld, caller: ProcessContext) {
        self.world = world
        self.caller = caller
    }

    /// Runs `command` in Redis; `nil` when Redis refused the connection.
    private func command<T>(_ label: StaticString, key: String, _ command: @escaping (_ origin: Int) -> T) async throws(LockError) -> T {
        let world = self.world
        let origin = RequestOrigin.user
        let outcome: SimWorld.Exchange<T?> = await world.exchange(caller, .bookingRedis, to: world.redisProcess.id, label,
                                                                   timeout: world.redisTimeout) { reply in
            guard world.now >= world.redisDownUntil else { return reply(nil) }
            if world.redis.expireIfDue(key, now: world.now) {
                world.trace(TraceEvent(time: world.now, process: world.redisProcess, op: .lockExpired, subject: .key(key), origin: origin))
            }
            reply(command(origin))
        }
        switch outcome {
        case .reply(let value?): return value
        case .reply(nil):
            world.coverage.hit(.lockServiceUnavailable)
            throw .unavailable("connection refused (Redis is restarting)")
        case .timedOut:
            world.coverage.hit(.lockServiceUnavailable)
            throw .timeout
        case .ended: throw .unavailable("the simulation has ended")
        }
    }

    public func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        return try await command("SET NX", key: key) { origin in
            let done = world.redis.set(key, token, onlyIfAbsent: true, ttl: ttl.nanoseconds, now: world.now)
            if done { world.recordLockSetter(token, caller) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockAcquire, subject: .key(key),
                                   a: done ? 1 : 0, b: ttl.nanoseconds, text: token, origin: origin))
            return done
        }
    }

    public func release(key: String, token: String) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        world.recordReleaseAttempt(token)
        return try await command("EVAL compare-and-delete", key: key) { origin in
            let done = world.redis.compareAndDelete(key, token: token, now: world.now)
            if !done { world.coverage.hit(.lockExpiredWhileHeld) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockRelease, subject: .key(key),
                                   a: done ? 1 : 0, text: token, origin: origin))
            return done
        }
    }

    public func nextFencingToken(_ key: String) async throws(LockError) -> Int {
        let world = self.world
        let caller = self.caller
        return try await command("INCR", key: key) { origin in
            let next = world.redis.increment(key, now: world.now)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockFence, subject: .key(key), a: Int64(next), origin: origin))
            return next
        }
    }

    public func holder(of key: String) async throws(LockError) -> String? {
        let world = self.world
        let caller = self.caller
        return try await command("GET", key: key) { origin in
            let value = world.redis.get(key, now: world.now)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockGet, subject: .key(key), text: value ?? "", origin: origin))
            return value
        }
    }
}

/// Background work of a simulated process (the crash-safe recovery worker), started through the
/// simulator's spawner so it stays on the simulated executor.
public struct SimBackgroundWork: BackgroundWork {
    let simulator: Simulator
    public init(simulator: Simulator) { self.simulator = simulator }
    public func start(_ work: @escaping @Sendable () async -> Void) {
        simulator.spawn { await RequestOrigin.$user.withValue(0) { await work() } }
    }
}

/// Lock tokens drawn from the world's stream, shaped like the seed's UUIDs.
public struct SimIdentifiers: IdentifierSource {
    let simulator: Simulator
    public init(simulator: Simulator) { self.simulator = simulator }
    public func lockToken() -> String {
        let high = simulator.nameBits()
        let low = simulator.nameBits()
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let a = hex(high >> 32, 8), b = hex((high >> 16) & 0xffff, 4), c = hex(high & 0xffff, 4)
        let d = hex(low >> 48, 4), e = hex(low & 0xffff_ffff_ffff, 12)
        return "\(a)-\(b)-\(c)-\(d)-\(e)"
    }
}
