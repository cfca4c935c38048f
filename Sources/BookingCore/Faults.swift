/// Faults a scenario injects. Each is a named, seeded decision in the spirit of FoundationDB's
/// BUGGIFY: whether it is active in a run (`activation`), and whether it fires at a given call
/// (`trigger`). The simulator draws both from the seed, so a failing run replays exactly.

public enum FaultKind: String, Hashable, Sendable, CaseIterable, Codable, Comparable {
    /// Stop-the-world pause of a process (a GC pause, SIGSTOP) for `duration`, which may exceed
    /// the lock's TTL.
    case pause
    /// Extra one-way delay of `duration` (at most) on a message of `hop`.
    case latencySpike = "latency-spike"
    /// A request on `hop` is lost: the server never sees it; the caller times out.
    case requestLoss = "request-loss"
    /// A reply on `hop` is lost: the work happened, the caller times out.
    case replyLoss = "reply-loss"
    /// The two `peers` cannot exchange messages for `duration`; then the partition heals.
    case partition
    /// The target process crashes (no catch or defer runs, its pending work is gone, its
    /// transactions roll back, its Redis keys are left to expire) and restarts after `duration`.
    case crash
    /// Redis restarts without persistence: every key is lost; down for `duration`.
    case redisRestart = "redis-restart"
    /// Redis fails over to a replica that missed the writes of the last `duration`.
    case redisFailover = "redis-failover"
    /// Redis's clock jumps forward by `duration`: TTLs expire early.
    case redisClockJump = "redis-clock-jump"
    /// The target's PostgreSQL connection drops; its open transaction is rolled back.
    case connectionLoss = "connection-loss"
    /// PostgreSQL aborts the statement's transaction with a serialization failure (40001) or,
    /// every other time, a deadlock (40P01).
    case postgresAbort = "postgres-abort"
    /// `statement_timeout` cancels the statement (57014) after `duration`.
    case statementTimeout = "statement-timeout"
    /// A client whose request timed out sends the same request again (same request id), up to
    /// `retries` times. With a `duration` it is an impatient client: on an attempt where the
    /// fault fires (per attempt, by its ratio and limit) the client stops waiting after
    /// `duration` instead of the client timeout and re-sends, while the attempt it gave up on
    /// runs on at the server (its late reply is discarded).
    case clientRetry = "client-retry"

    public static func < (a: FaultKind, b: FaultKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A process a fault aims at. `booking(nil)` is any booking replica (chosen per firing from the
/// fault stream); `client(nil)` any client.
public enum ProcessSelector: Hashable, Sendable, CustomStringConvertible {
    case client(Int?)
    case booking(Int?)
    case inventory
    case redis
    case inventoryDatabase
    case bookingDatabase

    public var description: String {
        switch self {
        case .client(let index): index.map { "user-\($0)" } ?? "client"
        case .booking(let index): index.map { "booking-\($0)" } ?? "booking"
        case .inventory: "inventory"
        case .redis: "redis"
        case .inventoryDatabase: "inventory_db"
        case .bookingDatabase: "booking_db"
        }
    }

    /// Parses `booking`, `booking-2`, `user-7`, `client`, `inventory`, `redis`, `inventory_db`, `booking_db`.
    public init?(_ text: String) {
        switch text {
        case "client", "user": self = .client(nil)
        case "booking": self = .booking(nil)
        case "inventory": self = .inventory
        case "redis": self = .redis
        case "inventory_db", "inventory-db": self = .inventoryDatabase
        case "booking_db", "booking-db": self = .bookingDatabase
        default:
            for (prefix, make) in [("booking-", { ProcessSelector.booking($0) }), ("user-", { ProcessSelector.client($0) })]
            where text.hasPrefix(prefix) {
                guard let index = Int(text.dropFirst(prefix.count)), index >= 1 else { return nil }
                self = make(index)
                return
            }
            return nil
        }
    }
}

/// An integer probability `numerator / denominator`.
public struct Ratio: Hashable, Sendable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int
    public init(_ numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }
    public static let always = Ratio(1, 1)
    public var description: String { "\(numerator)/\(denominator)" }
}

/// When a fault fires.
public enum FaultTrigger: Hashable, Sendable, CustomStringConvertible {
    /// Once, at this virtual time.
    case at(Duration)
    /// When the target reaches this named point of the algorithm, with this probability.
    case point(AlgorithmPoint, Ratio)
    /// At each natural call of the fault's kind (a message on the hop, a SQL statement, a
    /// timed-out request), with this probability, between `from` and `until`.
    case ratio(Ratio, from: Duration?, until: Duration?)

    public var description: String {
        switch self {
        case .at(let time): "at \(time)"
        case .point(let point, let ratio): "at \(point.rawValue)" + (ratio == .always ? "" : " with ratio \(ratio)")
        case .ratio(let ratio, let from, let until):
            "ratio \(ratio)" + (from.map { " from \($0)" } ?? "") + (until.map { " until \($0)" } ?? "")
        }
    }
}

public struct FaultSpec: Hashable, Sendable, CustomStringConvertible {
    public var kind: FaultKind
    public var trigger: FaultTrigger
    /// Probability that this fault is active at all in a run (BUGGIFY's first decision).
    public var activation: Ratio
    /// The process it hits (pause, crash, connection-loss, postgres-abort, statement-timeout).
    public var target: ProcessSelector?
    /// The hop it hits (latency-spike, request-loss, reply-loss).
    public var hop: Hop?
    /// The two sides of a partition.
    public var peers: [ProcessSelector]
    /// Pause length, spike size, partition length, downtime, failover lag, clock jump, statement
    /// timeout, an impatient client's wait before re-sending (client-retry; zero: it waits the
    /// client timeout).
    public var duration: Duration
    /// At most this many firings per run (`nil`: unlimited for ratios, once otherwise).
    public var limit: Int?
    /// client-retry: how many times a timed-out (or, with a duration, given-up) request is sent again.
    public var retries: Int

    public init(kind: FaultKind, trigger: FaultTrigger, activation: Ratio = .always, target: ProcessSelector? = nil,
                hop: Hop? = nil, peers: [ProcessSelector] = [], duration: Duration = .zero, limit: Int? = nil, retries: Int = 1) {
        self.kind = kind
        self.trigger = trigger
        self.activation = activation
        self.target = target
        self.hop = hop
        self.peers = peers
        self.duration = duration
        self.limit = limit
        self.retries = retries
    }

    /// How many times it may fire in one run.
    public var maxFirings: Int {
        if let limit { return limit }
        if case .ratio = trigger { return Int.max }
        return 1
    }

    public var description: String {
        var parts = [kind.rawValue]
        if let target { parts.append("on \(target)") }
        if let hop { parts.append("on \(hop.rawValue)") }
        if !peers.isEmpty { parts.append("between " + peers.map(\.description).joined(separator: " and ")) }
        parts.append(trigger.description)
        if duration != .zero { parts.append("for \(duration)") }
        if activation != .always { parts.append("active \(activation) of runs") }
        return parts.joined(separator: " ")
    }
}
