import BookingCore
import RunObservation
import Simulation

/// The story of a simulated run that a real-stack replay can follow: who sent when, in which
/// order the requests passed the services' fault points, where the faults struck, when a lock
/// expired, which row lock a request waited on, and what each client was answered. The real
/// world cannot follow every simulated choice (a latency, the order of two packets), so a
/// replay forces this order with barriers at the fault points instead (DESIGN.md section 10).
/// Pure: read off a recorded run's trace and point passes, no I/O.
public struct ReplayStory: Sendable, Hashable {
    /// One client's attempt: its first send, or a re-send of the same body.
    public struct Actor: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// The client's number (1-based, as `user-N` in the trace).
        public var user: Int
        public var attempt: Int
        public init(user: Int, attempt: Int) {
            self.user = user
            self.attempt = attempt
        }
        /// How the real services know the request: the `FaultOrigin` label.
        public var origin: String { "u\(user)a\(attempt)" }
        public var description: String { attempt == 1 ? "user-\(user)" : "user-\(user) (attempt \(attempt))" }
        public static func < (a: Actor, b: Actor) -> Bool { (a.user, a.attempt) < (b.user, b.attempt) }
    }

    /// What one actor does at a step.
    public enum Action: Sendable, Hashable {
        /// The client sends its confirm to booking replica `replica` (1-based).
        case send(replica: Int)
        /// The request passes `point` in `service` (a booking replica or the inventory).
        case pass(AlgorithmPoint, service: ProcessID)
        /// A pause, crash or Redis clock jump strikes (`service`) as the request reaches `point`.
        case faultAtPoint(AlgorithmPoint, service: ProcessID, kind: FaultKind, duration: Int64)
        /// The request's statement in `service` waits for a row lock another transaction holds.
        case blocked(service: ProcessID)
        /// The client gets its answer.
        case answered(status: Int)
        /// The client stops waiting (it timed out, or an impatient client re-sends).
        case gaveUp
    }

    public enum Step: Sendable, Hashable {
        case actor(Actor, Action)
        /// A fault at a time (or at a call), not at a point: carried out when the story comes to it.
        case timedFault(FaultKind, target: ProcessID, duration: Int64)
        /// A paused process goes on.
        case resumes(ProcessID)
        /// A crashed process is back.
        case restarts(ProcessID)
        /// The lock key's TTL ran out.
        case lockExpires(key: String)
    }

    public struct TimedStep: Sendable, Hashable {
        /// Virtual nanoseconds in the simulated run.
        public var time: Int64
        public var step: Step
    }

    /// A call from booking replica `replica` to the inventory that lost its request or its reply:
    /// the `call`-th (1-based) on that replica's booking-inventory hop.
    public struct MessageLoss: Sendable, Hashable {
        public var replica: Int
        public var call: Int
        public var losesReply: Bool
    }

    public var steps: [TimedStep]
    public var messageLosses: [MessageLoss]
    /// What of the simulated run the story does not carry to the real stack, in words.
    public var notReplayed: [String]

    public init(steps: [TimedStep], messageLosses: [MessageLoss], notReplayed: [String]) {
        self.steps = steps
        self.messageLosses = messageLosses
        self.notReplayed = notReplayed
    }

    /// The same story with each send held back until just before the request's first barrier,
    /// when that is the next thing the request does: in the simulated run its lock attempts
    /// before then failed (another holder, or a key not yet expired) and changed nothing, so a
    /// real request sent there takes the lock at once instead of racing its own back-off
    /// against barriers that run slower in real time than in virtual time.
    public func sendsHeldBack() -> ReplayStory {
        var steps = self.steps
        var index = 0
        while index < steps.count {
            guard case .actor(let actor, .send) = steps[index].step,
                  let next = steps[(index + 1)...].firstIndex(where: { if case .actor(actor, _) = $0.step { true } else { false } }),
                  case .actor(_, let action) = steps[next].step else {
                index += 1
                continue
            }
            switch action {
            case .pass, .faultAtPoint:
                guard next > index + 1 else { break }
                let send = steps.remove(at: index)
                steps.insert(TimedStep(time: steps[next - 1].time, step: send.step), at: next - 1)
                continue
            default:
                break
            }
            index += 1
        }
        return ReplayStory(steps: steps, messageLosses: messageLosses, notReplayed: notReplayed)
    }

    /// Reads the story off a recorded run of `scenario` (`SimulationOptions(traceMode: .record)`).
    public static func told(by output: SimulationOutput, scenario: Scenario) -> ReplayStory {
        var reader = StoryReader(scenario: scenario)
        var passes = output.points[...]
        for (position, event) in output.events.enumerated() {
            while let pass = passes.first, pass.position <= position {
                reader.read(pass)
                passes = passes.dropFirst()
            }
            reader.read(event)
        }
        for pass in passes { reader.read(pass) }
        return reader.finished()
    }
}

/// The state `ReplayStory.told` keeps while it reads a run's events in order.
private struct StoryReader {
    let scenario: Scenario
    var steps: [ReplayStory.TimedStep] = []
    var notes: [String] = []
    /// Per client, how many sends so far (its current attempt).
    var sends: [Int: Int] = [:]
    var gaveUp: Set<ReplayStory.Actor> = []
    /// Per user and service process, the attempt whose request last passed a point there.
    var lastAttempt: [ProcessID: [Int: Int]] = [:]
    /// Steps that come at a time (a pause's end), in time order.
    var pending: [ReplayStory.TimedStep] = []
    /// Per booking replica, calls to the inventory so far; per message, what became of it.
    var inventoryCalls: [Int: Int] = [:]
    var calls: [(message: Int64, replica: Int, call: Int)] = []
    var delivered: Set<Int64> = []
    var responded: Set<Int64> = []
    var received: Set<Int64> = []

    init(scenario: Scenario) {
        self.scenario = scenario
    }

    mutating func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    mutating func append(_ time: Int64, _ step: ReplayStory.Step) {
        while let first = pending.first, first.time <= time {
            steps.append(first)
            pending.removeFirst()
        }
        steps.append(ReplayStory.TimedStep(time: time, step: step))
    }

    mutating func later(_ time: Int64, _ step: ReplayStory.Step) {
        pending.append(ReplayStory.TimedStep(time: time, step: step))
        pending.sort { $0.time < $1.time }
    }

    mutating func read(_ pass: PointPass) {
        guard pass.user > 0 else {
            return note("background work (the recovery worker) reached \(pass.point.rawValue): the replay does not order it")
        }
        let actor = ReplayStory.Actor(user: pass.user, attempt: pass.attempt)
        let service = pass.process.id
        lastAttempt[service, default: [:]][pass.user] = pass.attempt
        let replayed: Set<FaultKind> = [.pause, .crash, .redisClockJump, .connectionLoss, .postgresAbort]
        for spec in pass.fired where !replayed.contains(spec.kind) {
            note("a \(spec.kind.rawValue) at \(pass.point.rawValue) is not replayed on the real stack "
                 + "(pauses, crashes, connection-losses, postgres-aborts and Redis clock jumps are)")
        }
        guard let strike = pass.fired.first(where: { replayed.contains($0.kind) }) else {
            return append(pass.time, .actor(actor, .pass(pass.point, service: service)))
        }
        let duration = strike.duration.nanoseconds
        append(pass.time, .actor(actor, .faultAtPoint(pass.point, service: service, kind: strike.kind, duration: duration)))
        if strike.kind == .pause { later(pass.time + duration, .resumes(service)) }
    }

    mutating func read(_ event: TraceEvent) {
        let process = event.process.id
        switch event.op {
        case .send:
            guard case .process(let server) = event.subject else { return }
            if process.kind == .client && server.kind == .booking {
                let attempt = sends[process.index, default: 0] + 1
                sends[process.index] = attempt
                append(event.time, .actor(ReplayStory.Actor(user: process.index, attempt: attempt), .send(replica: server.index)))
            } else if process.kind == .booking && server.kind == .inventory {
                let call = inventoryCalls[process.index, default: 0] + 1
                inventoryCalls[process.index] = call
                calls.append((event.a, process.index, call))
            }
        case .deliver: delivered.insert(event.a)
        case .respond: responded.insert(event.a)
        case .receive: received.insert(event.a)
        case .timeout where process.kind == .client:
            giveUp(ReplayStory.Actor(user: process.index, attempt: sends[process.index, default: 1]), at: event.time)
        case .complete:
            let actor = ReplayStory.Actor(user: process.index, attempt: sends[process.index, default: 1])
            if event.a != 0 {
                append(event.time, .actor(actor, .answered(status: Int(event.a))))
            } else {
                giveUp(actor, at: event.time)
            }
        case .fault where event.text.isEmpty:
            guard case .key(let name) = event.subject, let kind = FaultKind(rawValue: name) else { return }
            switch kind {
            case .pause:
                append(event.time, .timedFault(kind, target: process, duration: event.a))
                later(event.time + event.a, .resumes(process))
            case .crash, .connectionLoss, .redisClockJump:
                append(event.time, .timedFault(kind, target: process, duration: event.a))
            case .redisRestart:
                append(event.time, .timedFault(kind, target: process, duration: event.a))
                later(event.time + event.a, .restarts(process))
            default:
                note("a \(kind.rawValue) at a time is not replayed on the real stack by a schedule replay yet")
            }
        case .restart:
            append(event.time, .restarts(process))
        case .lockExpired:
            guard case .key(let key) = event.subject else { return }
            append(event.time, .lockExpires(key: key))
        case .sqlBlocked where process.kind == .booking || process.kind == .inventory:
            guard event.origin > 0 else { return }
            let attempt = lastAttempt[process]?[event.origin] ?? 1
            append(event.time, .actor(ReplayStory.Actor(user: event.origin, attempt: attempt), .blocked(service: process)))
        default:
            break
        }
    }

    mutating func giveUp(_ actor: ReplayStory.Actor, at time: Int64) {
        guard gaveUp.insert(actor).inserted else { return }
        append(time, .actor(actor, .gaveUp))
    }

    mutating func finished() -> ReplayStory {
        steps += pending
        pending = []
        let losses = Set(scenario.faults.filter { $0.kind == .requestLoss || $0.kind == .replyLoss }.compactMap(\.hop))
        var messageLosses: [ReplayStory.MessageLoss] = []
        if losses.contains(.bookingInventory) {
            for call in calls {
                if !delivered.contains(call.message) {
                    messageLosses.append(.init(replica: call.replica, call: call.call, losesReply: false))
                } else if responded.contains(call.message) && !received.contains(call.message) {
                    messageLosses.append(.init(replica: call.replica, call: call.call, losesReply: true))
                }
            }
        }
        for hop in losses.subtracting([.bookingInventory]).sorted(by: { $0.rawValue < $1.rawValue }) {
            note("lost messages on \(hop.rawValue) are not replayed by a schedule replay yet (only booking-inventory's)")
        }
        if scenario.faults.contains(where: { $0.kind == .latencySpike }) {
            note("latency spikes are not replayed: the barriers order the steps instead")
        }
        return ReplayStory(steps: steps, messageLosses: messageLosses, notReplayed: notes)
    }
}

extension ReplayStory.Step: CustomStringConvertible {
    public var description: String {
        switch self {
        case .actor(let actor, let action):
            switch action {
            case .send(let replica): "\(actor) sends its confirm to booking-\(replica)"
            case .pass(let point, let service): "\(actor) passes \(point.rawValue) in \(service)"
            case .faultAtPoint(let point, let service, let kind, let duration):
                "\(kind.rawValue) of \(service) as \(actor) reaches \(point.rawValue)" + (duration > 0 ? ", for \(formatSeconds(duration))" : "")
            case .blocked(let service): "\(actor) waits in \(service) for a row lock another transaction holds"
            case .answered(let status): "\(actor) is answered \(status)"
            case .gaveUp: "\(actor) stops waiting for its answer"
            }
        case .timedFault(let kind, let target, let duration):
            "\(kind.rawValue) of \(target)" + (duration > 0 ? " for \(formatSeconds(duration))" : "")
        case .resumes(let process): "\(process) goes on after its pause"
        case .restarts(let process): "\(process) is back after its crash"
        case .lockExpires(let key): "\(key) expires"
        }
    }
}
