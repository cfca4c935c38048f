import Backends
import BookingCore
import Foundation
import RunObservation
import Services
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How real mode carries out one kind of fault, by mechanism rather than by name only
/// (DESIGN.md section 10).
enum RealMechanism: Sendable {
    /// SIGSTOP, then SIGCONT after the duration.
    case pause(ProcessSelector)
    /// SIGKILL, then a fresh process on the same port after the duration.
    case crash(ProcessSelector)
    /// The proxy between the two goes silent both ways for the duration.
    case partition(ProcessSelector, ProcessSelector)
    /// The throwaway redis-server killed (no persistence) and started again after the duration.
    case redisRestart
    /// `pg_terminate_backend` of every backend behind the target's database proxy.
    case connectionLoss(ProcessSelector)
    /// Per call on every proxy of the hop: latency-spike, request-loss, reply-loss.
    case perCall(Hop)
    /// The driver re-sends the same body.
    case clientRetry
    /// The lagging replica redis-server promoted, every booking replica's Redis proxy
    /// redirected to it, the old primary made its replica (failed back after the run).
    case redisFailover
    /// An emulation: every key's TTL shortened by the jump at once (no real clock shift).
    case redisClockJump
    /// Armed at the points on the target's `/_overbook/faults` (one point for a fault at a
    /// point; every booking point for a pause or crash with a ratio, which the simulator draws
    /// at each point a replica reaches): a pause is the process stopping itself there
    /// (SIGSTOP), continued after the duration; a crash is `_exit` there, then a fresh process
    /// on the same port after the duration.
    case atPoints([AlgorithmPoint], ProcessSelector)
    /// Per SQL statement of the target's (`nil`: every service's) PostgreSQL pool, drawn in the
    /// service and carried out by the server (`StatementFaultDriver`).
    case perStatement(ProcessSelector?, StatementFaultKind)
}

/// What a run's stack offers the fault mechanisms.
public struct RealFaultCapabilities: Sendable {
    public var bookingReplicas: Int
    /// Redis was started for the run, so it may be killed and restarted.
    public var ownsRedis: Bool

    public init(bookingReplicas: Int, ownsRedis: Bool) {
        self.bookingReplicas = bookingReplicas
        self.ownsRedis = ownsRedis
    }
}

/// Carries out a scenario's faults on the real stack during one run: the time-triggered ones
/// at their time (from the load's origin), the per-call ones on the hop proxies, drawn from a
/// seeded SplitMix64, and the client retries in the driver. Each firing is announced with its
/// mechanism and recorded. Real time, real processes: not deterministic, only seeded.
public final class RealFaultInjector: Sendable {
    /// Which of `faults` real mode can carry out on a stack like this, and why not the others.
    public static func plan(_ faults: [FaultSpec], _ capabilities: RealFaultCapabilities)
        -> (injected: [FaultSpec], skipped: [SkippedFault]) {
        var injected: [FaultSpec] = []
        var skipped: [SkippedFault] = []
        for spec in faults {
            switch mechanism(for: spec, capabilities) {
            case .success: injected.append(spec)
            case .failure(let why): skipped.append(SkippedFault(spec: spec, reason: why.reason))
            }
        }
        let apart = failoversApart(injected)
        return (injected.filter { spec in !apart.contains { $0.spec == spec } }, skipped + apart)
    }

    struct NotInjectable: Error { let reason: String }

    /// The failovers among `faults` that cannot be carried out beside the rest: a restart or a
    /// clock jump acts on the redis-server at Redis's address, which after a failover is no
    /// longer the one the replicas use, so the two do not mix in one run.
    static func failoversApart(_ faults: [FaultSpec]) -> [SkippedFault] {
        guard faults.contains(where: { $0.kind == .redisRestart || $0.kind == .redisClockJump }) else { return [] }
        return faults.filter { $0.kind == .redisFailover }.map {
            SkippedFault(spec: $0, reason: "a failover is not carried out in a run that also restarts Redis or jumps its clock: "
                         + "those act on the redis-server at Redis's address, which after the failover the replicas no longer use")
        }
    }

    static func mechanism(for spec: FaultSpec, _ capabilities: RealFaultCapabilities) -> Result<RealMechanism, NotInjectable> {
        func no(_ reason: String) -> Result<RealMechanism, NotInjectable> { .failure(NotInjectable(reason: reason)) }
        let timed: Bool = if case .at = spec.trigger { true } else { false }
        func service(_ target: ProcessSelector?) -> String? {
            switch target {
            case .booking(let index?) where index > capabilities.bookingReplicas:
                "the run has no booking-\(index) (booking_replicas \(capabilities.bookingReplicas))"
            case .booking, .inventory: nil
            case .client: "the driver runs every client in this one process, so one client cannot be stopped alone"
            default: "real mode stops only service processes (booking, booking-N, inventory)"
            }
        }
        func perStatement(_ kind: StatementFaultKind) -> Result<RealMechanism, NotInjectable> {
            guard case .ratio = spec.trigger else {
                return no("a \(spec.kind.rawValue) is carried out per SQL statement (a ratio)\(spec.kind == .statementTimeout ? "" : " or at a fault point"); at a time it is not built")
            }
            if let target = spec.target, let problem = service(target) { return no(problem) }
            return .success(.perStatement(spec.target, kind))
        }
        if case .point(let point, _) = spec.trigger {
            if spec.kind == .redisClockJump {
                guard !point.isInventoryPoint else { return no("a redis-clock-jump at an inventory point: the booking replicas are the ones that talk to Redis") }
                return .success(.atPoints([point], .booking(nil)))
            }
            if spec.kind == .redisFailover {
                guard capabilities.ownsRedis else { return no("Redis was given by --redis-url; a failover needs the throwaway redis-server and a replica of it") }
                guard !point.isInventoryPoint else { return no("a redis-failover at an inventory point: the booking replicas are the ones that talk to Redis") }
                return .success(.atPoints([point], .booking(nil)))
            }
            guard [.pause, .crash, .connectionLoss, .postgresAbort].contains(spec.kind) else {
                return no("a \(spec.kind.rawValue) at \(point.rawValue): real mode arms only pauses, crashes, connection-losses, "
                          + "postgres-aborts, redis-failovers and redis-clock-jumps at the services' fault points")
            }
            if let problem = service(spec.target) { return no(problem) }
            let reachedBy: ProcessSelector = point.isInventoryPoint ? .inventory : .booking(nil)
            let target = spec.target ?? reachedBy
            guard target == reachedBy || (point.isInventoryPoint == false && target != .inventory) else {
                return no("\(target) never reaches \(point.rawValue), so it never fires (nor does it in the simulator)")
            }
            return .success(.atPoints([point], target))
        }
        switch spec.kind {
        case .connectionLoss where !timed:
            return perStatement(.connectionLoss)
        case .pause where !timed, .crash where !timed:
            // As the simulator draws it: at every fault point a booking replica reaches.
            if spec.target == .inventory {
                return no("a \(spec.kind.rawValue) with a ratio fires at the booking replicas' fault points, which the inventory never reaches, so it never fires (nor does it in the simulator)")
            }
            if let problem = service(spec.target) { return no(problem) }
            return .success(.atPoints(AlgorithmPoint.bookingPoints, spec.target ?? .booking(nil)))
        case .pause, .crash, .connectionLoss:
            if let problem = service(spec.target) { return no(problem) }
            let target = spec.target ?? .booking(nil)
            switch spec.kind {
            case .pause: return .success(.pause(target))
            case .crash: return .success(.crash(target))
            default: return .success(.connectionLoss(target))
            }
        case .latencySpike, .requestLoss, .replyLoss:
            guard let hop = spec.hop, hop != .clientBooking else {
                return no("the driver talks to the booking replicas directly, with no proxy on client-booking")
            }
            return .success(.perCall(hop))
        case .partition:
            guard timed else { return no("a partition is carried out only at a time (`at:`)") }
            guard spec.peers.count == 2 else { return no("a partition needs two peers") }
            let (a, b) = (spec.peers[0], spec.peers[1])
            func proxied(_ x: ProcessSelector, _ y: ProcessSelector) -> Bool {
                switch (x, y) {
                case (.booking(let index), .redis), (.booking(let index), .bookingDatabase), (.booking(let index), .inventory):
                    return (index ?? 1) <= capabilities.bookingReplicas
                case (.inventory, .inventoryDatabase): return true
                default: return false
                }
            }
            guard proxied(a, b) || proxied(b, a) else {
                return no("real mode has no proxied hop between \(a) and \(b) (proxied: booking-N to redis, booking_db or inventory; inventory to inventory_db)")
            }
            return .success(.partition(a, b))
        case .redisRestart:
            guard timed else { return no("a redis-restart is carried out only at a time (`at:`)") }
            guard capabilities.ownsRedis else {
                return no("Redis was given by --redis-url; only a throwaway redis-server started for the run is killed and restarted")
            }
            return .success(.redisRestart)
        case .clientRetry:
            return .success(.clientRetry)
        case .redisFailover:
            guard timed else { return no("a redis-failover is carried out at a time (`at:`) or at a booking point") }
            guard capabilities.ownsRedis else { return no("Redis was given by --redis-url; a failover needs the throwaway redis-server and a replica of it") }
            return .success(.redisFailover)
        case .redisClockJump:
            guard timed else { return no("a redis-clock-jump is carried out at a time (`at:`) or at a booking point") }
            return .success(.redisClockJump)
        case .postgresAbort:
            return perStatement(.postgresAbort)
        case .statementTimeout:
            return perStatement(.statementTimeout)
        }
    }

    private struct Armed {
        var spec: FaultSpec
        var mechanism: RealMechanism
        var firings = 0
    }

    private struct State {
        var random: SplitMix64
        var armed: [Armed]
        var fired: [FiredFault] = []
        var problems: [String] = []
        var tasks: [Task<Void, Never>] = []
        /// Per spec: firings announced one by one so far (a busy per-call fault is counted, not printed, past a few).
        var announced: [Int: Int] = [:]
        var origin: ContinuousClock.Instant?
        /// The load is over: the point watchers arm nothing more.
        var pointsClosed = false
        /// A redis-failover moved the booking replicas to the replica: failed back at the end.
        var failedOver = false
        /// A redis-restart has killed redis-server and not yet started it again.
        var redisDown = false
    }

    /// Per-call firings of one fault printed one by one; the rest are counted at the end.
    static let announcedPerFault = 10

    private let stack: RealStack
    private let state: Mutex<State>
    /// The per-statement faults, armed in the services' PostgreSQL pools.
    private let statements: StatementFaultDriver?
    private let announce: @Sendable (String) -> Void
    /// The active faults real mode carries out in this run.
    public let active: [FaultSpec]
    /// The scenario's faults real mode cannot carry out.
    public let skipped: [SkippedFault]
    /// The scenario's faults that drew "not active" for this run.
    public let inactive: [FaultSpec]

    /// Draws each fault's activation for run `run` from the scenario's seed (a stream of its
    /// own, apart from the arrivals').
    public init(scenario: Scenario, run: UInt64, stack: RealStack, announce: @escaping @Sendable (String) -> Void) {
        var random = SplitMix64(seed: (scenario.seed &+ run) ^ 0xFA01_7EC7_0000_0001)
        let capabilities = RealFaultCapabilities(bookingReplicas: stack.replicas.count, ownsRedis: stack.servers != nil)
        var armed: [Armed] = []
        var skipped: [SkippedFault] = []
        var inactive: [FaultSpec] = []
        for spec in scenario.faults {
            switch Self.mechanism(for: spec, capabilities) {
            case .failure(let why):
                skipped.append(SkippedFault(spec: spec, reason: why.reason))
            case .success(let mechanism):
                if Self.draw(spec.activation, &random) { armed.append(Armed(spec: spec, mechanism: mechanism)) } else { inactive.append(spec) }
            }
        }
        let apart = Self.failoversApart(armed.map(\.spec))
        skipped += apart
        armed.removeAll { armedFault in apart.contains { $0.spec == armedFault.spec } }
        let perStatement: [(spec: FaultSpec, kind: StatementFaultKind)] = armed.compactMap {
            guard case .perStatement(_, let kind) = $0.mechanism else { return nil }
            return ($0.spec, kind)
        }
        statements = StatementFaultDriver(faults: perStatement, stack: stack, random: &random)
        self.stack = stack
        self.announce = announce
        self.active = armed.map(\.spec)
        self.skipped = skipped
        self.inactive = inactive
        self.state = Mutex(State(random: random, armed: armed))
    }

    private static func draw(_ ratio: Ratio, _ random: inout SplitMix64) -> Bool {
        ratio.denominator > 0 && random.next() % UInt64(ratio.denominator) < UInt64(max(0, ratio.numerator))
    }

    /// What fired in this run, in order.
    public var fired: [FiredFault] { state.withLock { $0.fired } }

    /// Faults that could not be carried out as they fired (a restart that failed).
    public var problems: [String] { state.withLock { $0.problems } }

    // MARK: Running

    /// Arms the faults: timed ones count from `origin`, the load's own start.
    public func start(origin: ContinuousClock.Instant) {
        state.withLock { $0.origin = origin }
        let armed = state.withLock { $0.armed }
        for (index, fault) in armed.enumerated() {
            switch fault.mechanism {
            case .perCall(let hop):
                for (replica, proxy) in stack.hopProxies?.proxies(on: hop) ?? [] {
                    proxy.onEachCall { [weak self] in self?.callFate(on: hop, replica: replica) }
                }
            case .clientRetry, .perStatement:
                break
            case .atPoints(let points, let selector):
                let task = Task { await self.watch(points, for: index, fault.spec, on: selector) }
                state.withLock { $0.tasks.append(task) }
            default:
                guard case .at(let time) = fault.spec.trigger else { continue }
                let task = Task {
                    try? await ContinuousClock().sleep(until: origin.advanced(by: time))
                    guard !Task.isCancelled, self.claimFiring(index) else { return }
                    await self.carryOut(fault.spec, fault.mechanism)
                }
                state.withLock { $0.tasks.append(task) }
            }
        }
    }

    /// Once the load is over: every timed fault still to come fires at its time and runs its
    /// course (as a simulated run goes on to quiescence), then every proxy is back to plain
    /// forwarding, so the stack is whole for the next run.
    public func finish() async {
        state.withLock { $0.pointsClosed = true }
        for task in state.withLock({ $0.tasks }) { await task.value }
        stack.hopProxies?.healAll()
        await failBack()
        guard let statements, let origin = state.withLock({ $0.origin }) else { return }
        let (fired, lines, problems) = await statements.finish(origin: origin)
        state.withLock { state in
            state.fired = (state.fired + fired).sorted { $0.at < $1.at }
            state.problems += problems
        }
        for line in lines { announce("fault: \(line)") }
    }

    /// The replica redis-server a redis-failover fault promotes, started before the load with
    /// the first failover's duration as its lag; `nil` when the run has none.
    public func prepare() async throws {
        try await statements?.arm()
        guard let failover = active.first(where: { $0.kind == .redisFailover }), let servers = stack.servers else { return }
        _ = try await servers.startLaggingReplica(lag: failover.duration)
    }

    /// The failover: the lagging replica promoted (losing the primary's writes of its lag),
    /// every booking replica's Redis proxy redirected to it, and the old primary made its
    /// replica, so the driver's own reads of the old address see what the services wrote.
    private func failOver() async {
        guard let replica = stack.servers?.laggingReplica else { return problem("redis-failover: no replica redis-server was started") }
        guard !state.withLock({ $0.failedOver }) else { return problem("redis-failover: Redis has already failed over in this run") }
        do {
            try await replica.promote()
            for proxy in stack.hopProxies?.bookingRedis ?? [] { proxy.redirect(toPort: replica.port) }
            try await LaggingRedisReplica.administer(["REPLICAOF", "127.0.0.1", "\(replica.port)"], on: stack.lock)
            state.withLock { $0.failedOver = true }
            record(.redisFailover, "redis-failover: the replica redis-server (port \(replica.port), fed through a link that holds the stream back "
                   + "\(formatSeconds(replica.lag.nanoseconds))) promoted with REPLICAOF NO ONE, missing the primary's writes of that last "
                   + "\(formatSeconds(replica.lag.nanoseconds)); every booking replica's Redis proxy redirected to it (connections reset)")
        } catch {
            problem("redis-failover: \(error)")
        }
    }

    /// A Redis clock jump, emulated: there is no real clock shift for the redis-server process
    /// here, so every key's TTL is shortened by the jump at once, which is what the jump does
    /// to the keys Redis holds (keys set later live their whole TTL, as on a jumped clock).
    private func jumpClock(by jump: Duration) async {
        do {
            record(.redisClockJump, try await Self.emulateClockJump(by: jump, on: stack.lock))
        } catch {
            // A clock jump of a server that is not running changes nothing: the fresh one
            // starts empty, with no key whose TTL the jump could shorten.
            guard state.withLock({ $0.redisDown }) else { return problem("redis-clock-jump: \(error)") }
            record(.redisClockJump, "redis-clock-jump by \(formatSeconds(jump.nanoseconds)) while a redis-restart had redis-server down: "
                   + "no key to shorten (the fresh server starts empty), nothing done")
        }
    }

    /// The emulated clock jump on `lock`'s Redis, tried again once or twice (a Redis restart
    /// may be closing the driver's pooled connection just then); the mechanism in words.
    static func emulateClockJump(by jump: Duration, on lock: RedisLockService) async throws -> String {
        var result = try? await lock.shortenEveryTTL(by: jump)
        for _ in 0..<2 where result == nil {
            try? await Task.sleep(for: .milliseconds(50))
            result = try? await lock.shortenEveryTTL(by: jump)
        }
        if result == nil { result = try await lock.shortenEveryTTL(by: jump) }
        let (expired, shortened) = result!
        return "redis-clock-jump by \(formatSeconds(jump.nanoseconds)) (an emulation: no real clock shift; every key's TTL "
            + "shortened by the jump at once, in one Lua script): \(expired) key\(expired == 1 ? "" : "s") expired early, \(shortened) shortened"
    }

    /// After the run: the old primary (a replica of the promoted one since the failover, so
    /// holding what it holds) is promoted back, the proxies point at it again, and the replica
    /// follows it through its delayed link, so the stack is as it was for the next run.
    private func failBack() async {
        guard state.withLock({ $0.failedOver }), let replica = stack.servers?.laggingReplica else { return }
        do {
            try await LaggingRedisReplica.waitForLink(stack.lock, what: "the old primary redis-server")
            try await LaggingRedisReplica.administer(["REPLICAOF", "NO", "ONE"], on: stack.lock)
            let primaryPort = URLComponents(string: stack.redisURL)?.port ?? 0
            for proxy in stack.hopProxies?.bookingRedis ?? [] { proxy.redirect(toPort: primaryPort) }
            try await replica.followAgain()
            state.withLock { $0.failedOver = false }
        } catch {
            problem("redis-failover: failing back after the run failed: \(error)")
        }
    }

    /// Everything stops (Ctrl-C, a failure): no fault fires any more, a paused process is
    /// continued, no crashed one is restarted, the proxies forward again.
    public func cancel() async {
        statements?.cancel()
        let tasks = state.withLock { $0.tasks }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        stack.hopProxies?.healAll()
    }

    /// A fault the limit still allows, counted as fired.
    private func claimFiring(_ index: Int) -> Bool {
        state.withLock { state in
            guard state.armed[index].firings < state.armed[index].spec.maxFirings else { return false }
            state.armed[index].firings += 1
            return true
        }
    }

    private func now(_ state: State) -> Int64 {
        guard let origin = state.origin else { return 0 }
        return ConfirmLoad.nanoseconds(origin.duration(to: .now))
    }

    private func record(_ kind: FaultKind, _ mechanism: String, index: Int? = nil, at time: Int64? = nil) {
        let line: String? = state.withLock { state in
            let at = time ?? now(state)
            // A firing recorded once it has run its course goes where it began.
            let place = state.fired.lastIndex { $0.at <= at }.map { $0 + 1 } ?? 0
            state.fired.insert(FiredFault(kind: kind, at: at, mechanism: mechanism), at: place)
            if let index {
                state.announced[index, default: 0] += 1
                let count = state.announced[index]!
                guard count <= Self.announcedPerFault else { return nil }
                if count == Self.announcedPerFault { return "fault at \(formatSeconds(at)): \(mechanism) (further firings of this fault are counted, not printed)" }
            }
            return "fault at \(formatSeconds(at)): \(mechanism)"
        }
        if let line { announce(line) }
    }

    private func problem(_ text: String) {
        state.withLock { $0.problems.append(text) }
        announce("fault problem: \(text)")
    }

    /// booking(nil) is any replica, drawn per firing as the simulator does.
    private func resolve(_ selector: ProcessSelector) -> ProcessSelector {
        guard case .booking(nil) = selector else { return selector }
        let replicas = UInt64(max(1, stack.replicas.count))
        return .booking(Int(state.withLock { $0.random.next() } % replicas) + 1)
    }

    private func carryOut(_ spec: FaultSpec, _ mechanism: RealMechanism) async {
        let duration = spec.duration
        let lasting = formatSeconds(duration.nanoseconds)
        switch mechanism {
        case .pause(let selector):
            let target = resolve(selector)
            guard let child = stack.child(named: target.description) else { return problem("pause \(target): no such running service") }
            let pid = child.process.processIdentifier
            kill(pid, SIGSTOP)
            record(.pause, "pause \(target): SIGSTOP for \(lasting) (pid \(pid))")
            // Cancelled or not, the process is continued: a stopped child must not outlive the pause.
            try? await Task.sleep(for: duration)
            kill(pid, SIGCONT)
        case .crash(let selector):
            let target = resolve(selector)
            guard let old = stack.child(named: target.description) else { return problem("crash \(target): no such running service") }
            record(.crash, "crash \(target): SIGKILL (pid \(old.process.processIdentifier)), restarted on port \(old.port) after \(lasting)")
            do {
                try await stack.crashAndRestart(target.description, downtime: duration)
                await statements?.restarted(target.description)
            } catch is CancellationError {
                return
            } catch {
                if !Task.isCancelled { problem("crash \(target): the restart failed: \(error)") }
            }
        case .partition(let a, let b):
            let (x, y) = (resolve(a), resolve(b))
            guard let proxy = stack.hopProxies?.between(x, y) else { return problem("partition \(x) | \(y): no proxy between them") }
            proxy.set(.blackhole)
            record(.partition, "partition \(x) | \(y): the proxy between them drops every byte both ways for \(lasting)")
            try? await Task.sleep(for: duration)
            proxy.set(.pass)
        case .redisRestart:
            guard let servers = stack.servers else { return problem("redis-restart: Redis was not started for the run") }
            record(.redisRestart, "redis-restart: SIGKILL of redis-server (no persistence: every key lost), down for \(lasting), then a fresh one on the same port")
            state.withLock { $0.redisDown = true }
            defer { state.withLock { $0.redisDown = false } }
            do {
                try await servers.restartRedis(downtime: duration)
            } catch {
                if !Task.isCancelled { problem("redis-restart: redis-server did not come back: \(error)") }
            }
        case .connectionLoss(let selector):
            let target = resolve(selector)
            await terminateBackends(of: target)
        case .redisFailover:
            await failOver()
        case .redisClockJump:
            await jumpClock(by: spec.duration)
        case .perCall, .clientRetry, .atPoints, .perStatement:
            break
        }
    }

    /// postgres-abort at a point, as the simulator plants it: the next statement of a
    /// transaction `child` has open (its COMMIT included) is aborted by PostgreSQL with 40001.
    private func abortNextStatement(of child: RealStack.Child, at point: AlgorithmPoint) async {
        do {
            record(.postgresAbort, try await Self.plantAbort(through: control(child), "postgres-abort \(child.name) at \(point.rawValue)"))
        } catch {
            problem("postgres-abort \(child.name) at \(point.rawValue): \(error)")
        }
    }

    /// Plants the abort (40001) over `control` and says what it did, after `what` ("postgres-abort
    /// booking-1 at before-commit"); shared with the schedule replay.
    static func plantAbort(through control: FaultControlClient, _ what: String) async throws -> String {
        try await control.abortNextTransactionStatement(sqlstate: "40001")
            ? "\(what): the next statement of its open transaction (COMMIT included) aborted by PostgreSQL (RAISE ... ERRCODE 40001 in its session)"
            : "\(what): no transaction of it open there, nothing to abort (as in the simulator)"
    }

    /// `pg_terminate_backend` of every PostgreSQL backend serving `target`.
    private func terminateBackends(of target: ProcessSelector, at point: AlgorithmPoint? = nil) async {
        guard let proxy = stack.hopProxies?.databaseProxy(of: target) else { return problem("connection-loss \(target): no database proxy for it") }
        let (pool, database) = target == .inventory ? (stack.inventoryPool, "inventory_db") : (stack.bookingPool, "booking_db")
        do {
            let pids = try await Self.terminateBackends(behind: proxy, using: pool)
            let what = "connection-loss \(target)\(point.map { " at \($0.rawValue)" } ?? "")"
            record(.connectionLoss, pids.isEmpty ? "\(what): pg_terminate_backend found no open \(database) connection of it"
                   : "\(what): pg_terminate_backend of its \(pids.count) \(database) backend\(pids.count == 1 ? "" : "s") (pid \(pids.map(String.init).joined(separator: ", ")))")
        } catch {
            problem("connection-loss \(target): pg_terminate_backend failed: \(error)")
        }
    }

    /// Terminates the PostgreSQL backends of the connections that go through `proxy`, found by
    /// their `client_port` (the proxy's own sockets to the server), with a connection of
    /// `pool` to the same server; returns their pids. Their open transactions roll back.
    public static func terminateBackends(behind proxy: FaultProxy, using pool: PostgresPool) async throws -> [Int] {
        let ports = proxy.upstreamLocalPorts
        guard !ports.isEmpty else { return [] }
        // Found first, terminated one by one: in a single query's WHERE the planner may call
        // pg_terminate_backend before the port test, on every backend.
        let rows = try await pool.execute("""
            SELECT pid::text FROM pg_stat_activity
            WHERE client_port = ANY(string_to_array($1, ',')::int[]) AND pid <> pg_backend_pid()
            """, [.text(ports.map(String.init).joined(separator: ","))])
        let pids = rows.rows.compactMap { $0.first.flatMap { $0 }.flatMap { Int($0) } }
        var terminated: [Int] = []
        for pid in pids {
            let answer = try await pool.execute("SELECT pg_terminate_backend($1::int)::text", [.text(String(pid))])
            if answer.rows.first?.first == "true" { terminated.append(pid) }
        }
        return terminated
    }

    // MARK: At a point

    /// Arms `points` on every process `selector` names, each point to act after a seeded number
    /// of passes (the trigger's ratio, drawn as a run of misses: every pass fires with the
    /// ratio, as the simulator draws at each point a process reaches), waits until one acts,
    /// carries the fault out, and arms again while the fault's limit and window allow, until
    /// the load is over.
    private func watch(_ points: [AlgorithmPoint], for index: Int, _ spec: FaultSpec, on selector: ProcessSelector) async {
        let (ratio, from, until): (Ratio, Duration?, Duration?)
        switch spec.trigger {
        case .point(_, let drawn): (ratio, from, until) = (drawn, nil, nil)
        case .ratio(let drawn, let start, let end): (ratio, from, until) = (drawn, start, end)
        case .at: return
        }
        let names: [String] = switch selector {
        case .booking(let replica?): ["booking-\(replica)"]
        case .booking(nil): stack.replicas.map(\.name)
        default: ["inventory"]
        }
        let action: PointAction = switch spec.kind {
        case .pause: .stopProcess
        case .crash: .crash
        default: .park
        }
        let origin = state.withLock { $0.origin } ?? .now
        if let from { try? await ContinuousClock().sleep(until: origin.advanced(by: from)) }
        let deadline = until.map { origin.advanced(by: $0) }
        let lasting = formatSeconds(spec.duration.nanoseconds)
        // The fault acts at one of its points at a time: the others go with it.
        let group = points.count > 1 ? "fault-\(index)" : nil
        defer { continueStopped(names) }
        while !Task.isCancelled, !state.withLock({ $0.pointsClosed }), state.withLock({ $0.armed[index].firings < spec.maxFirings }) {
            arming: for name in names {
                guard let child = stack.child(named: name) else { continue }
                for point in points {
                    let skip = state.withLock { state in
                        var misses = 0
                        while misses < 100_000, !Self.draw(ratio, &state.random) { misses += 1 }
                        return misses
                    }
                    do {
                        _ = try await control(child).arm(point, action, skip: skip, group: group)
                    } catch {
                        // A point armed a moment ago may already have stopped or ended the
                        // process (the load runs while its points are armed): that is the firing.
                        if action != .park, await Self.hasActed(child) { break arming }
                        return problem("\(spec.kind.rawValue) \(name) at \(point.rawValue): could not arm the point: \(error)")
                    }
                }
            }
            guard let hit = await firstToAct(names, action: action, at: points, until: deadline) else { break }
            let claimed = claimFiring(index)
            for name in names where name != hit.name {
                if let child = stack.child(named: name) { await disarm(points, on: child) }
            }
            let pid = hit.process.processIdentifier
            if action == .park {
                // The request waits at the point while Redis fails over (or its clock jumps) under it.
                let point = points[0]
                switch spec.kind {
                case .redisClockJump: await jumpClock(by: spec.duration)
                // As the simulator's connection-loss at a point: the connections of the process
                // that reached it are cut (its open transaction rolls back) while it waits there.
                case .connectionLoss: await terminateBackends(of: hit.name == "inventory" ? .inventory : .booking(Int(hit.name.dropFirst("booking-".count))),
                                                              at: point)
                case .postgresAbort: await abortNextStatement(of: hit, at: point)
                default: await failOver()
                }
                _ = try? await control(hit).release(point)
            } else if action == .stopProcess {
                // Past the limit (two processes stopped at once): the second one goes on at once.
                guard claimed else { kill(pid, SIGCONT); break }
                let stoppedAt = state.withLock { now($0) }
                try? await Task.sleep(for: spec.duration)
                kill(pid, SIGCONT)
                let point = points.count == 1 ? points[0] : await actedPoint(of: hit, group: group)
                record(.pause, "pause \(hit.name) at \(point?.rawValue ?? "one of its fault points")\(drawnPerPoint(points, ratio)): it stopped itself there "
                       + "(SIGSTOP, pid \(pid)), continued after \(lasting)", at: stoppedAt)
                await disarm(points, on: hit)
            } else {
                let at = points.count == 1 ? points[0].rawValue : "one of its fault points\(drawnPerPoint(points, ratio)); its log names which"
                record(.crash, "crash \(hit.name) at \(at): _exit there (pid \(pid)), restarted on port \(hit.port) after \(lasting)"
                       + (claimed ? "" : " (past the fault's limit of \(spec.maxFirings): two processes reached armed points at once)"))
                do {
                    _ = try await stack.crashAndRestart(hit.name, downtime: spec.duration)
                    await statements?.restarted(hit.name)
                } catch {
                    if !Task.isCancelled { problem("crash \(hit.name): the restart failed: \(error)") }
                    return
                }
                if !claimed { break }
            }
        }
        for name in names {
            guard let child = stack.child(named: name) else { continue }
            if child.process.isRunning, !Self.isStopped(child.process.processIdentifier) {
                await disarm(points, on: child)
                // A request still parked there (the run ended first) goes on.
                if action == .park { _ = try? await control(child).release(nil) }
            } else if action == .crash, !child.process.isRunning {
                // It crashed itself at an armed point as the watch ended (the load over, or the
                // limit reached by another process at the same moment): started again, as any
                // crash is.
                record(.crash, "crash \(name) at one of its fault points as the fault's watch ended: _exit there, restarted on port \(child.port) after \(lasting)")
                _ = try? await stack.crashAndRestart(name, downtime: spec.duration)
                await statements?.restarted(name)
            }
        }
    }

    /// " (drawn at each of N points a replica reaches, 1 in K)" for a ratio over several points.
    private func drawnPerPoint(_ points: [AlgorithmPoint], _ ratio: Ratio) -> String {
        points.count == 1 ? "" : " (drawn at each of the \(points.count) points a replica reaches, \(ratio.numerator) in \(ratio.denominator))"
    }

    private func disarm(_ points: [AlgorithmPoint], on child: RealStack.Child) async {
        for point in points { try? await control(child).disarm(point) }
    }

    /// Where `child` acted for arming `group` (it stopped there), read once it runs again.
    private func actedPoint(of child: RealStack.Child, group: String?) async -> AlgorithmPoint? {
        guard let group, let acted = try? await control(child).snapshot().groupActedAt?[group] else { return nil }
        return AlgorithmPoint(rawValue: acted)
    }

    private func control(_ child: RealStack.Child) -> FaultControlClient {
        FaultControlClient(serviceURL: child.baseURL, client: stack.client)
    }

    /// The first of `names` whose armed point acted (stopped, or exited); `nil` once the load
    /// is over or the run is cancelled first.
    private func firstToAct(_ names: [String], action: PointAction, at points: [AlgorithmPoint], until deadline: ContinuousClock.Instant?) async -> RealStack.Child? {
        var lastLook = false
        while !Task.isCancelled {
            for name in names {
                guard let child = stack.child(named: name) else { continue }
                let acted = switch action {
                case .stopProcess: Self.isStopped(child.process.processIdentifier)
                case .park: (try? await control(child).snapshot()).map { snapshot in points.contains { snapshot.parked(at: $0) > 0 } } ?? false
                default: !child.process.isRunning
                }
                if acted { return child }
            }
            if lastLook { return nil }
            // The fault's window (`until`) is over: a process that acted by now was seen above.
            if let deadline, deadline < .now { lastLook = true }
            // A crash at a point can end the load (its client sees the connection drop) before
            // the exit is seen here: one more look, after the exit has had time to be reaped.
            if state.withLock({ $0.pointsClosed }) { lastLook = true }
            try? await Task.sleep(for: .milliseconds(lastLook ? 200 : 5))
        }
        return nil
    }

    /// A process that stopped itself at a point as the load ended is continued.
    private func continueStopped(_ names: [String]) {
        for name in names {
            if let child = stack.child(named: name), Self.isStopped(child.process.processIdentifier) { kill(child.process.processIdentifier, SIGCONT) }
        }
    }

    /// Whether `child` has stopped or ended itself (a request of it reached an armed point),
    /// looked at for up to half a second: an exit is seen once the process has been reaped.
    static func hasActed(_ child: RealStack.Child) async -> Bool {
        for _ in 0..<50 {
            if !child.process.isRunning || isStopped(child.process.processIdentifier) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Whether the process is stopped (state `T` in `/proc/PID/stat`).
    static func isStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    // MARK: Per call

    /// The fate of one call on `hop` (through booking-`replica`'s proxy), from every active
    /// per-call fault on the hop, each drawn as the simulator draws it.
    private func callFate(on hop: Hop, replica: Int?) -> FaultProxy.CallFate? {
        var fate = FaultProxy.CallFate()
        var lines: [(Int, FaultKind, String)] = []
        let via = replica.map { " (booking-\($0))" } ?? ""
        state.withLock { state in
            let time = now(state)
            for index in state.armed.indices {
                guard case .perCall(let faultHop) = state.armed[index].mechanism, faultHop == hop,
                      fires(index, at: time, &state) else { continue }
                let spec = state.armed[index].spec
                switch spec.kind {
                case .requestLoss:
                    fate.losesRequest = true
                    lines.append((index, .requestLoss, "request-loss on \(hop.rawValue)\(via): the proxy drops the request (the server never sees it)"))
                case .replyLoss:
                    fate.losesReply = true
                    lines.append((index, .replyLoss, "reply-loss on \(hop.rawValue)\(via): the proxy forwards the request and drops its reply (the work happened)"))
                default:
                    let most = UInt64(max(0, spec.duration.nanoseconds))
                    let extra = Duration.nanoseconds(Int64(state.random.next() % (most + 1)))
                    let onRequest = state.random.next() % 2 == 0
                    if onRequest { fate.requestDelay += extra } else { fate.replyDelay += extra }
                    lines.append((index, .latencySpike, "latency-spike on \(hop.rawValue)\(via): the proxy holds the \(onRequest ? "request" : "reply") \(formatSeconds(extra.nanoseconds))"))
                }
            }
        }
        for (index, kind, line) in lines { record(kind, line, index: index) }
        return lines.isEmpty ? nil : fate
    }

    /// Whether per-call fault `index` fires now: within its limit, its window and its ratio.
    private func fires(_ index: Int, at time: Int64, _ state: inout State) -> Bool {
        let spec = state.armed[index].spec
        guard case .ratio(let ratio, let from, let until) = spec.trigger, state.armed[index].firings < spec.maxFirings else { return false }
        if let from, time < from.nanoseconds { return false }
        if let until, time >= until.nanoseconds { return false }
        guard Self.draw(ratio, &state.random) else { return false }
        state.armed[index].firings += 1
        return true
    }

    // MARK: Client retries

    /// The driver's side of the client-retry faults; `nil` when the run has none.
    public var clientRetries: ClientRetryPolicy? {
        guard active.contains(where: { $0.kind == .clientRetry }) else { return nil }
        return ClientRetryPolicy(
            onTimeout: { [weak self] user in self?.retryDecision(user: user, impatient: false).map(\.retries) ?? 0 },
            impatience: { [weak self] user in self?.retryDecision(user: user, impatient: true) },
            resending: { [weak self] user, attempt in
                self?.announce("client user-\(user): sends the same request again (same request id), attempt \(attempt)")
            })
    }

    /// The first client-retry fault (with a duration when `impatient`, without otherwise) that
    /// fires for `user` now.
    private func retryDecision(user: Int, impatient: Bool) -> (wait: Duration, retries: Int)? {
        let decided: (Int, FaultSpec)? = state.withLock { state in
            let time = now(state)
            for index in state.armed.indices {
                let spec = state.armed[index].spec
                guard spec.kind == .clientRetry, (spec.duration > .zero) == impatient else { continue }
                if case .client(let wanted?) = spec.target, wanted != user { continue }
                if fires(index, at: time, &state) { return (index, spec) }
            }
            return nil
        }
        guard let (index, spec) = decided else { return nil }
        record(.clientRetry, impatient
            ? "client-retry user-\(user): waits only \(formatSeconds(spec.duration.nanoseconds)) on this attempt, then re-sends the same body (up to \(spec.retries) times)"
            : "client-retry user-\(user): timed out; re-sends the same body, same request id (up to \(spec.retries) times)", index: index)
        return (spec.duration, spec.retries)
    }
}
