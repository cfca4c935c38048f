/// A scenario: everything that defines a run except the seed's draws. Scenario files (YAML, target
/// `Scenarios`) decode into this; the simulator and real mode both run it.
public struct Scenario: Hashable, Sendable {
    public var name: String
    public var summary: String
    /// The first seed `overbook run` uses when `--seed` is not given.
    public var seed: UInt64
    public var variant: Variant
    public var rooms: [RoomSpec]
    /// Nights with an availability row; by default every night of every user's stay.
    public var inventoryNights: [Night]
    public var users: [UserGroup]
    public var bookingReplicas: Int
    public var latency: LatencyProfile
    /// How long a client waits for the booking service before recording the request as unknown.
    public var clientTimeout: Duration
    public var lock: LockPolicy
    public var inventoryTimeout: Duration
    public var faults: [FaultSpec]
    public var slo: ServiceLevelObjective
    /// The seed experiment's expected number of 201s, when the scenario fixes it.
    public var expectedSuccesses: Int?
    /// How the history check reads a `503` when not as the variant claims (`unavailableMeaning`).
    public var unavailableMeaningOverride: UnavailableMeaning?
    /// How each booking replica serves requests: unlimited by default.
    public var bookingServing: Serving = .unlimited
    /// How the inventory service serves requests: unlimited by default.
    public var inventoryServing: Serving = .unlimited

    public init(name: String, summary: String = "", seed: UInt64 = 1, variant: Variant = .seed,
                rooms: [RoomSpec], inventoryNights: [Night]? = nil, users: [UserGroup],
                bookingReplicas: Int = 2, latency: LatencyProfile = .lan, clientTimeout: Duration = .seconds(30),
                lock: LockPolicy = .seed, inventoryTimeout: Duration = .seconds(5), faults: [FaultSpec] = [],
                slo: ServiceLevelObjective = .seed, expectedSuccesses: Int? = nil) {
        self.name = name
        self.summary = summary
        self.seed = seed
        self.variant = variant
        self.rooms = rooms
        self.users = users
        self.inventoryNights = inventoryNights ?? Scenario.nightsCovering(users)
        self.bookingReplicas = bookingReplicas
        self.latency = latency
        self.clientTimeout = clientTimeout
        self.lock = lock
        self.inventoryTimeout = inventoryTimeout
        self.faults = faults
        self.slo = slo
        self.expectedSuccesses = expectedSuccesses
    }

    public var userCount: Int { users.reduce(0) { $0 + $1.count } }

    /// How the history check reads a `503`: as given, else as the variant claims.
    public var unavailableMeaning: UnavailableMeaning { unavailableMeaningOverride ?? variant.flow.unavailableMeans }

    /// Each user's stay and arrival, user 1 first.
    public var expandedUsers: [UserPlan] {
        var plans: [UserPlan] = []
        plans.reserveCapacity(userCount)
        for group in users {
            for _ in 0..<group.count {
                plans.append(UserPlan(user: UserID.numbered(plans.count + 1), stay: group.stay, arrival: group.arrival))
            }
        }
        return plans
    }

    public var bookingConfiguration: BookingConfiguration {
        BookingConfiguration(variant: variant, lock: lock, inventoryTimeout: inventoryTimeout)
    }

    /// How the inventory service decrements under this scenario's variant.
    public var inventoryDecrement: InventoryService.Decrement {
        variant.inventoryDecrement
    }

    public static func nightsCovering(_ users: [UserGroup]) -> [Night] {
        Array(Set(users.flatMap { $0.stay.nights })).sorted()
    }

    /// The seed experiment as its README states it: 50 users confirm room 1 (capacity 1) for
    /// 2026-03-15..17 at once; four rooms as `init_db.py` creates them.
    public static func seedExperiment(users: Int = 50) -> Scenario {
        let checkIn = Night(iso: "2026-03-15")!
        let stay = Stay(room: RoomID(1), checkIn: checkIn, checkOut: Night(iso: "2026-03-17")!)!
        return Scenario(
            name: "seed-experiment",
            summary: "\(users) users confirm the last room at once",
            rooms: RoomSpec.seedRooms,
            inventoryNights: (0..<30).map { Night(iso: "2026-03-01")!.adding(days: $0) },
            users: [UserGroup(count: users, stay: stay, arrival: .at(.zero))],
            expectedSuccesses: 1)
    }
}

public struct RoomSpec: Hashable, Sendable {
    public var id: RoomID
    public var name: String
    public var capacity: Int
    public init(id: RoomID, name: String, capacity: Int) {
        self.id = id
        self.name = name
        self.capacity = capacity
    }
    public var room: Room { Room(id: id, name: name, totalQuantity: capacity) }

    /// The seed's `init_db.py`: four rooms, room 1 with `total_quantity = 1`.
    public static let seedRooms: [RoomSpec] = [
        RoomSpec(id: RoomID(1), name: "Standard Single", capacity: 1),
        RoomSpec(id: RoomID(2), name: "Standard Double", capacity: 5),
        RoomSpec(id: RoomID(3), name: "Deluxe Suite", capacity: 3),
        RoomSpec(id: RoomID(4), name: "Family Room", capacity: 2),
    ]
}

public struct UserGroup: Hashable, Sendable {
    public var count: Int
    public var stay: Stay
    public var arrival: Arrival
    public init(count: Int, stay: Stay, arrival: Arrival) {
        self.count = count
        self.stay = stay
        self.arrival = arrival
    }
}

public struct UserPlan: Hashable, Sendable {
    public var user: UserID
    public var stay: Stay
    public var arrival: Arrival
}

/// When a user sends its confirm, in virtual time from the start of the run.
public enum Arrival: Hashable, Sendable {
    case at(Duration)
    /// Uniformly drawn, per user, in `[from, to]`.
    case uniform(Duration, Duration)
}

/// One network hop, named by its two ends.
public enum Hop: String, Hashable, Sendable, CaseIterable, Codable {
    case clientBooking = "client-booking"
    case bookingRedis = "booking-redis"
    case bookingPostgres = "booking-postgres"
    case bookingInventory = "booking-inventory"
    case inventoryPostgres = "inventory-postgres"

    /// Position in `allCases`, for array-indexed tables.
    public var ordinal: Int {
        switch self {
        case .clientBooking: 0
        case .bookingRedis: 1
        case .bookingPostgres: 2
        case .bookingInventory: 3
        case .inventoryPostgres: 4
        }
    }
}

/// One-way message delay: uniform in `[min, max]`, and with probability `tail.ratio` uniform in
/// the tail's range instead (a slow path). Integer ratios keep draws identical on every machine.
public struct LatencyDistribution: Hashable, Sendable {
    public struct Tail: Hashable, Sendable {
        public var numerator: Int
        public var denominator: Int
        public var min: Duration
        public var max: Duration
        public init(numerator: Int, denominator: Int, min: Duration, max: Duration) {
            self.numerator = numerator
            self.denominator = denominator
            self.min = min
            self.max = max
        }
    }
    public var min: Duration
    public var max: Duration
    public var tail: Tail?
    public init(min: Duration, max: Duration, tail: Tail? = nil) {
        self.min = min
        self.max = max
        self.tail = tail
    }
    public static func fixed(_ delay: Duration) -> LatencyDistribution { LatencyDistribution(min: delay, max: delay) }
}

public struct LatencyProfile: Hashable, Sendable {
    public var hops: [Hop: LatencyDistribution]
    public init(hops: [Hop: LatencyDistribution]) { self.hops = hops }
    public subscript(hop: Hop) -> LatencyDistribution { hops[hop] ?? .fixed(.zero) }

    /// One data centre: sub-millisecond to a few milliseconds per message.
    public static let lan = LatencyProfile(hops: [
        .clientBooking: LatencyDistribution(min: .milliseconds(1), max: .milliseconds(5)),
        .bookingRedis: LatencyDistribution(min: .microseconds(200), max: .milliseconds(1)),
        .bookingPostgres: LatencyDistribution(min: .microseconds(500), max: .milliseconds(2)),
        .bookingInventory: LatencyDistribution(min: .milliseconds(1), max: .milliseconds(3)),
        .inventoryPostgres: LatencyDistribution(min: .microseconds(500), max: .milliseconds(2)),
    ])
}

public struct ServiceLevelObjective: Hashable, Sendable {
    public var p95: Duration
    public var mean: Duration
    public init(p95: Duration, mean: Duration) {
        self.p95 = p95
        self.mean = mean
    }
    /// The seed's user story: p95 under 1.5 s, mean under 1.0 s.
    public static let seed = ServiceLevelObjective(p95: .milliseconds(1500), mean: .milliseconds(1000))
}

/// How a service process serves its requests, as a pre-forked server of sync workers does
/// (gunicorn's default): `workers` requests at once, each holding its worker from arrival to
/// answer; the rest wait in an accept queue, first come first served, and one that finds
/// `backlog` already waiting is answered `503` at once (nothing done). Each request also takes
/// `serviceTime` of the worker's own CPU time (the simulator draws it; real mode spends what it
/// spends). `nil` workers: every request is served at once, as an async server does.
public struct Serving: Hashable, Sendable {
    public var workers: Int?
    public var backlog: Int
    public var serviceTime: LatencyDistribution?

    /// gunicorn's default `--backlog`.
    public static let defaultBacklog = 2048

    public init(workers: Int? = nil, backlog: Int = Serving.defaultBacklog, serviceTime: LatencyDistribution? = nil) {
        self.workers = workers
        self.backlog = backlog
        self.serviceTime = serviceTime
    }

    public static let unlimited = Serving()

    public var isUnlimited: Bool { workers == nil && serviceTime == nil }

    /// The answer to a request that found the accept queue full.
    public static let backlogFullMessage = "the service's accept queue is full; try again later"
}

extension Duration {
    /// Whole nanoseconds (truncating below a nanosecond), as virtual time and real timings count them.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
