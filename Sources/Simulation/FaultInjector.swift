import BookingCore
import RunObservation

/// Rare paths a run can take: every fault kind firing, and the algorithm paths the faults are
/// there to reach. A sweep counts them, and names the ones it never reached.
public enum CoverageMark: String, CaseIterable, Sendable, Hashable, Comparable {
    case pauseFired = "fault: pause"
    case latencySpikeFired = "fault: latency-spike"
    case requestLost = "fault: request-loss"
    case replyLost = "fault: reply-loss"
    case partitionFired = "fault: partition"
    case partitionDropped = "partition dropped a message"
    case crashFired = "fault: crash"
    case redisRestartFired = "fault: redis-restart"
    case redisFailoverFired = "fault: redis-failover"
    case redisFailoverLostKey = "failover lost a lock key"
    case redisClockJumpFired = "fault: redis-clock-jump"
    case connectionLossFired = "fault: connection-loss"
    case postgresAbortFired = "fault: postgres-abort"
    case statementTimeoutFired = "fault: statement-timeout"
    case clientRetried = "fault: client-retry"
    case lockExpiredWhileHeld = "lock expired while held (release found it gone or foreign)"
    case lockRetriesExhausted = "lock retries exhausted (503)"
    case lockServiceUnavailable = "lock service unavailable"
    case deadlockAborted = "deadlock abort (40P01, detected or injected)"
    case replyLostAfterCommit = "reply lost after a COMMIT succeeded"
    case clientTimedOut = "client timed out"
    case staleFenceRefused = "stale fencing token refused"
    case reservationReplayed = "reservation replayed by request id"
    case pendingRecovered = "recovery re-drove a pending booking"
    case reservationReturned = "reservation given back (compensation)"

    public static func < (a: CoverageMark, b: CoverageMark) -> Bool { a.ordinal < b.ordinal }

    public var ordinal: Int { CoverageMark.allCases.firstIndex(of: self)! }

    /// The mark counted each time a fault of `kind` fires.
    public static func fired(_ kind: FaultKind) -> CoverageMark {
        switch kind {
        case .pause: .pauseFired
        case .latencySpike: .latencySpikeFired
        case .requestLoss: .requestLost
        case .replyLoss: .replyLost
        case .partition: .partitionFired
        case .crash: .crashFired
        case .redisRestart: .redisRestartFired
        case .redisFailover: .redisFailoverFired
        case .redisClockJump: .redisClockJumpFired
        case .connectionLoss: .connectionLossFired
        case .postgresAbort: .postgresAbortFired
        case .statementTimeout: .statementTimeoutFired
        case .clientRetry: .clientRetried
        }
    }
}

/// Counts of `CoverageMark`s, indexed by ordinal.
public struct Coverage: Sendable, Hashable, Codable {
    public private(set) var counts = [Int](repeating: 0, count: CoverageMark.allCases.count)
    public init() {}
    public mutating func hit(_ mark: CoverageMark) { counts[mark.ordinal] += 1 }
    public subscript(mark: CoverageMark) -> Int { counts[mark.ordinal] }
    /// Faults of every kind that fired (a lost message counts as one, a client retry too).
    public var faultsFired: Int { FaultKind.allCases.reduce(0) { $0 + self[CoverageMark.fired($1)] } }
    public mutating func merge(_ other: Coverage) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }
}

/// What happens to one message on its way.
struct MessageFate {
    var requestLost = false
    var replyLost = false
    var requestDelay: Int64 = 0
    var replyDelay: Int64 = 0
}

/// What a SQL statement runs into.
enum StatementFault {
    case abort(StoreError)
    case connectionLoss
    case timeout(Int64)
}

/// Decides, from the seed's fault stream, which of a scenario's faults are active in this run
/// and when each fires, and carries them out on the world. No I/O; one thread.
public final class FaultInjector {
    struct Armed {
        var spec: FaultSpec
        var firings = 0
    }

    private var armed: [Armed]
    unowned let world: SimWorld
    /// Processes a client-selector or booking-selector picks from.
    var bookingReplicas = 1

    init(specs: [FaultSpec], world: SimWorld) {
        self.world = world
        let simulator = world.simulator
        // BUGGIFY's first decision, once per fault per run.
        armed = specs.compactMap { spec in
            simulator.decide(.activation, spec.activation.numerator, in: spec.activation.denominator) ? Armed(spec: spec) : nil
        }
    }

    public var activeFaults: [FaultSpec] { armed.map(\.spec) }

    /// Whether an active fault fires at one of the inventory's points. Only then does the
    /// inventory service reach its points at all, so every scenario that names none runs as
    /// it did before they existed.
    var aimsAtInventoryPoints: Bool {
        armed.contains { if case .point(let point, _) = $0.spec.trigger { point.isInventoryPoint } else { false } }
    }

    /// How often each active fault has fired, for a state hash.
    func digest(into hasher: inout FNV1a) {
        for fault in armed { hasher.feed(Int64(fault.firings)) }
    }
    var isEmpty: Bool { armed.isEmpty }

    private func draw(_ ratio: Ratio) -> Bool {
        world.simulator.decide(.fault, ratio.numerator, in: ratio.denominator)
    }

    private func inWindow(_ trigger: FaultTrigger) -> Bool {
        guard case .ratio(_, let from, let until) = trigger else { return true }
        if let from, world.now < from.nanoseconds { return false }
        if let until, world.now >= until.nanoseconds { return false }
        return true
    }

    /// Whether fault `index` fires at this call: within its limit, window and ratio.
    private func fires(_ index: Int, ratio: Ratio) -> Bool {
        guard armed[index].firings < armed[index].spec.maxFirings, inWindow(armed[index].spec.trigger), draw(ratio) else { return false }
        armed[index].firings += 1
        return true
    }

    /// Resolves a selector to one process, drawing among replicas when it names none.
    func resolve(_ selector: ProcessSelector) -> ProcessID {
        switch selector {
        case .booking(let index):
            ProcessID(kind: .booking, index: index ?? Int(world.simulator.draw(.faultDetail, 1, Int64(max(1, bookingReplicas)))))
        case .client(let index): ProcessID(kind: .client, index: index ?? 1)
        case .inventory: ProcessID(kind: .inventory, index: 0)
        case .redis: world.redisProcess.id
        case .inventoryDatabase: world.inventoryDatabase.process.id
        case .bookingDatabase: world.bookingDatabase.process.id
        }
    }

    private func matches(_ selector: ProcessSelector?, _ process: ProcessID) -> Bool {
        guard let selector else { return true }
        switch selector {
        case .booking(let index): return process.kind == .booking && (index == nil || index == process.index)
        case .client(let index): return process.kind == .client && (index == nil || index == process.index)
        default: return resolve(selector) == process
        }
    }

    // MARK: Scheduled faults

    /// Schedules the faults pinned at a time.
    func scheduleTimedFaults() {
        for index in armed.indices {
            guard case .at(let time) = armed[index].spec.trigger else { continue }
            world.simulator.schedule(at: time.nanoseconds) { [self] in
                guard armed[index].firings < armed[index].spec.maxFirings else { return }
                armed[index].firings += 1
                let spec = armed[index].spec
                world.carryOut(spec, on: spec.target.map(resolve), origin: 0)
            }
        }
    }

    // MARK: Points of the algorithm

    /// The faults that fire as `process` reaches `point`, in scenario order.
    func firing(at point: AlgorithmPoint, by process: ProcessID) -> [FaultSpec] {
        var result: [FaultSpec] = []
        for index in armed.indices {
            let spec = armed[index].spec
            switch spec.trigger {
            case .point(let wanted, let ratio) where wanted == point:
                guard matches(spec.target, process), fires(index, ratio: ratio) else { continue }
            case .ratio(let ratio, _, _) where (spec.kind == .pause || spec.kind == .crash) && !point.isInventoryPoint:
                guard matches(spec.target, process), fires(index, ratio: ratio) else { continue }
            default:
                continue
            }
            result.append(spec)
        }
        return result
    }

    // MARK: Messages and statements

    func fate(of hop: Hop) -> MessageFate {
        var fate = MessageFate()
        for index in armed.indices where armed[index].spec.hop == hop {
            guard case .ratio(let ratio, _, _) = armed[index].spec.trigger, fires(index, ratio: ratio) else { continue }
            let spec = armed[index].spec
            switch spec.kind {
            case .requestLoss: fate.requestLost = true
            case .replyLoss: fate.replyLost = true
            case .latencySpike:
                world.coverage.hit(.latencySpikeFired)
                let extra = world.simulator.draw(.faultDetail, 0, spec.duration.nanoseconds)
                if world.simulator.draw(.faultDetail, 0, 1) == 0 { fate.requestDelay += extra } else { fate.replyDelay += extra }
            default: break
            }
        }
        return fate
    }

    func statementFault(by process: ProcessID) -> StatementFault? {
        for index in armed.indices {
            let spec = armed[index].spec
            guard [.postgresAbort, .connectionLoss, .statementTimeout].contains(spec.kind),
                  case .ratio(let ratio, _, _) = spec.trigger, matches(spec.target, process), fires(index, ratio: ratio) else { continue }
            switch spec.kind {
            case .postgresAbort:
                world.coverage.hit(.postgresAbortFired)
                guard armed[index].firings % 2 == 0 else { return .abort(.serializationFailure) }
                // The algorithms take row locks in one order, so a real deadlock cannot form;
                // the victim's error is injected instead, to reach its handling.
                world.coverage.hit(.deadlockAborted)
                return .abort(.deadlockDetected)
            case .connectionLoss:
                world.coverage.hit(.connectionLossFired)
                return .connectionLoss
            default:
                return .timeout(spec.duration.nanoseconds)
            }
        }
        return nil
    }

    /// How often a client re-sends a timed-out request (0: never). Decided once, at the client's
    /// first time-out, by the client-retry faults without a duration.
    func retries(for client: ProcessID) -> Int {
        for index in armed.indices where armed[index].spec.kind == .clientRetry && armed[index].spec.duration == .zero {
            guard case .ratio(let ratio, _, _) = armed[index].spec.trigger, matches(armed[index].spec.target, client),
                  fires(index, ratio: ratio) else { continue }
            return armed[index].spec.retries
        }
        return 0
    }

    /// An impatient client: whether the attempt `client` is about to send waits only a
    /// client-retry fault's `duration` instead of the client timeout, decided per attempt by the
    /// client-retry faults with a duration (the first that fires), and how many re-sends that
    /// fault allows. Faults without a duration draw nothing here.
    func impatience(for client: ProcessID) -> (wait: Duration, retries: Int)? {
        for index in armed.indices where armed[index].spec.kind == .clientRetry && armed[index].spec.duration > .zero {
            guard case .ratio(let ratio, _, _) = armed[index].spec.trigger, matches(armed[index].spec.target, client),
                  fires(index, ratio: ratio) else { continue }
            return (armed[index].spec.duration, armed[index].spec.retries)
        }
        return nil
    }
}

/// The inventory's fault points when no fault aims at them: noted in a recorded run, nothing
/// else, and never a suspension (so the schedule is that of a run without them).
struct SimPointNotes: FaultPoints {
    let world: SimWorld
    let process: ProcessContext

    func reached(_ point: AlgorithmPoint) async {
        guard !world.simulator.sealed, world.simulator.isAlive(process) else { return }
        world.simulator.trace.note(point, by: process, at: world.now, fired: [])
    }
}

/// The algorithms' named fault points, bound to one process (a booking replica or the
/// inventory): pauses and crashes there stop this task too, as they stop the whole process.
public struct SimFaultPoints: FaultPoints {
    let world: SimWorld
    let process: ProcessContext

    public init(world: SimWorld, process: ProcessContext) {
        self.world = world
        self.process = process
    }

    public func reached(_ point: AlgorithmPoint) async {
        guard !world.simulator.sealed, world.simulator.isAlive(process) else { return }
        guard let injector = world.faults else {
            world.simulator.trace.note(point, by: process, at: world.now, fired: [])
            return
        }
        let fired = injector.firing(at: point, by: process.id)
        world.simulator.trace.note(point, by: process, at: world.now, fired: fired)
        for spec in fired {
            world.carryOut(spec, on: process.id, origin: RequestOrigin.user, at: point)
        }
        // A pause or crash just carried out stops this task here, like the rest of the process.
        _ = await world.admit(process, "fault point \(point.rawValue) of \(process)")
    }
}
