import BookingCore
import Simulation

/// Named fault mixes the matrix compares variants under; each also works with `run`, `replay`
/// and `sweep` (`--profile NAME`) so that any matrix cell's counterexample replays exactly.
public struct FaultProfile: Hashable, Sendable {
    public let name: String
    public let summary: String
    private let make: @Sendable (Scenario, UInt64) -> Scenario

    public static func == (a: FaultProfile, b: FaultProfile) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// The scenario as this profile runs it for `seed`.
    public func apply(to scenario: Scenario, seed: UInt64) -> Scenario { make(scenario, seed) }

    init(name: String, summary: String, faults: @escaping @Sendable (Scenario) -> [FaultSpec],
         adjust: @escaping @Sendable (inout Scenario) -> Void = { _ in }) {
        self.name = name
        self.summary = summary
        self.make = { scenario, _ in
            var changed = scenario
            adjust(&changed)
            changed.faults = scenario.faults + faults(scenario)
            return changed
        }
    }

    init(name: String, summary: String, make: @escaping @Sendable (Scenario, UInt64) -> Scenario) {
        self.name = name
        self.summary = summary
        self.make = make
    }

    public static func named(_ name: String) -> FaultProfile? { all.first { $0.name == name } }

    /// The profile `--profile` and `--swarm` ask for (`--swarm` is the swarm profile); `nil`: none.
    public static func selected(profile: String?, swarm: Bool) -> FaultProfile? {
        swarm ? named("swarm") : profile.flatMap(named)
    }

    public static let all: [FaultProfile] = [
        FaultProfile(name: "none", summary: "no faults", faults: { _ in [] }),
        FaultProfile(
            name: "pause-past-ttl",
            summary: "a booking replica stops the world past the lock's TTL, at any point of the algorithm",
            faults: { scenario in
                let ttl = scenario.lock.ttl
                return AlgorithmPoint.bookingPoints.map { point in
                    FaultSpec(kind: .pause, trigger: .point(point, Ratio(1, 6)), target: .booking(nil), duration: ttl + .seconds(2), limit: 1)
                } + [FaultSpec(kind: .latencySpike, trigger: .ratio(Ratio(1, 4), from: nil, until: nil), hop: .inventoryPostgres, duration: .milliseconds(300))]
            }),
        FaultProfile(
            name: "lost-messages",
            summary: "requests and replies lost on every hop, clients that time out after 2 s and retry",
            faults: { _ in
                [Hop.clientBooking, .bookingInventory, .bookingPostgres, .bookingRedis, .inventoryPostgres].flatMap { hop in
                    [FaultSpec(kind: .requestLoss, trigger: .ratio(Ratio(1, 40), from: nil, until: nil), hop: hop),
                     FaultSpec(kind: .replyLoss, trigger: .ratio(Ratio(1, 25), from: nil, until: nil), hop: hop)]
                } + [FaultSpec(kind: .clientRetry, trigger: .ratio(.always, from: nil, until: nil), retries: 2)]
            },
            adjust: { $0.clientTimeout = .seconds(2) }),
        FaultProfile(
            name: "crashes",
            summary: "booking replicas and the inventory crash at any point of the algorithm and restart",
            faults: { _ in
                [FaultSpec(kind: .crash, trigger: .ratio(Ratio(1, 25), from: nil, until: nil), target: .booking(nil), duration: .seconds(1), limit: 3),
                 FaultSpec(kind: .crash, trigger: .ratio(Ratio(1, 60), from: nil, until: nil), target: .inventory, duration: .milliseconds(500), limit: 1),
                 FaultSpec(kind: .connectionLoss, trigger: .ratio(Ratio(1, 80), from: nil, until: nil), target: .booking(nil))]
            }),
        FaultProfile(
            name: "redis-failover",
            summary: "Redis fails over to a lagging replica, restarts empty, or its clock jumps",
            faults: { scenario in
                [FaultSpec(kind: .redisFailover, trigger: .point(.lockAcquired, Ratio(1, 4)), duration: .milliseconds(50), limit: 3),
                 FaultSpec(kind: .redisClockJump, trigger: .point(.beforeInsert, Ratio(1, 8)), duration: scenario.lock.ttl, limit: 1),
                 FaultSpec(kind: .redisRestart, trigger: .point(.beforeDecrement, Ratio(1, 8)), duration: .milliseconds(100), limit: 1)]
            }),
        FaultProfile(
            name: "database-errors",
            summary: "serialization and deadlock aborts, dropped connections, statement timeouts",
            faults: { _ in
                [FaultSpec(kind: .postgresAbort, trigger: .ratio(Ratio(1, 15), from: nil, until: nil)),
                 FaultSpec(kind: .connectionLoss, trigger: .ratio(Ratio(1, 40), from: nil, until: nil), target: .inventory),
                 FaultSpec(kind: .statementTimeout, trigger: .ratio(.always, from: nil, until: nil), target: .inventory, duration: .milliseconds(200))]
            }),
        FaultProfile(name: "swarm", summary: "each seed draws its own fault mix (swarm testing)", make: { Swarm.scenario($0, seed: $1) }),
        FaultProfile(
            name: "choices",
            summary: "model checking's faults: pause past the TTL or crash at any point, lose any inventory or COMMIT reply, "
                + "a client that gives up on its confirm early and sends it again",
            faults: { FaultProfile.choiceFaults($0) }),
    ]

    /// How long the choices' impatient client waits before re-sending: inside one confirm of the
    /// seed algorithm, so that the retry overlaps the first attempt. At the exhaustive search's
    /// 1 ms per hop the seed's first attempt holds the lock from 2 ms to 24 ms and inserts at
    /// 10 ms (answered at 26 ms); with LAN latencies a confirm that books takes some 40 ms and
    /// holds the lock from about 5 ms on. The retry, sent at 10 ms, meets the lock the first
    /// attempt holds. (50 ms would come after the first attempt's answer in both.)
    public static let impatientClientWait = Duration.milliseconds(10)

    /// The faults `overbook check` explores as choices: each may fire at any call (ratio 1/2 so
    /// that every call is a decision); the search's `--max-faults` bounds how many fire.
    public static func choiceFaults(_ scenario: Scenario) -> [FaultSpec] {
        let anyCall = FaultTrigger.ratio(Ratio(1, 2), from: nil, until: nil)
        return [
            FaultSpec(kind: .pause, trigger: anyCall, target: .booking(nil), duration: scenario.lock.ttl + .seconds(2), limit: 2),
            FaultSpec(kind: .crash, trigger: anyCall, target: .booking(nil), duration: .seconds(1), limit: 2),
            FaultSpec(kind: .replyLoss, trigger: anyCall, hop: .bookingInventory, limit: 2),
            FaultSpec(kind: .replyLoss, trigger: anyCall, hop: .bookingPostgres, limit: 2),
            // An impatient client: stops waiting for an attempt after `impatientClientWait` and
            // sends the same request again, once, while the first attempt runs on.
            FaultSpec(kind: .clientRetry, trigger: anyCall, duration: impatientClientWait, limit: 1, retries: 1),
        ]
    }
}
