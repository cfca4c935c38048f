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
    /// Cut links and when each heals; written only by fault execution.
    var partitions: [(a: ProcessID, b: ProcessID, until: Int64)] = []
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
