import Backends
import BookingCore
import Checking
import Foundation
import RunObservation
import Services
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a real replay stopped following its story: the step it was at, and what the real stack
/// did instead.
public struct StoryDeparture: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based, as the story's steps are printed.
    public var step: Int
    public var expected: String
    public var saw: String
    /// The step could not be done but the rest of the story still could (the request passed
    /// the point without stopping there, was answered otherwise, never waited for a row): the
    /// replay skips it and goes on. Otherwise (the real run stalled) it stops following.
    public var goesOn = false
    public var description: String { "step \(step) (\(expected)): \(saw)" }

    var skipped: StoryDeparture {
        var skipped = self
        skipped.goesOn = true
        return skipped
    }
}

/// Replays a `ReplayStory` on the real stack (every service with `--fault-control`, every hop
/// through a fault proxy): each client sends when the story says, no earlier than the simulated
/// time (shifted by how far the real run has fallen behind); every fault point a request
/// passes in the story is armed as a barrier for that request alone (`FaultOrigin`), and
/// released in the story's order; a pause or crash at a point is the process stopping itself
/// or exiting right there; a lost inventory reply is the proxy dropping that very call's
/// answer; an expiring lock is waited for in real Redis, a blocked statement in
/// `pg_stat_activity`. When the real run cannot do what the story says next, it stops
/// following (every barrier released) and says where; either way the run then ends, settles
/// and is judged by the same checks as any real run.
public struct StoryReplay: Sendable {
    public let stack: RealStack
    /// The scenario as the schedule ran (its users and faults), with the variant to run.
    public let scenario: Scenario
    public let story: ReplayStory
    /// Hears of each step carried out and each fault.
    public let announce: @Sendable (String) -> Void
    /// How long a step waits for what the story says comes next.
    public var stepTimeout: Duration = .seconds(10)

    public init(stack: RealStack, scenario: Scenario, story: ReplayStory, announce: @escaping @Sendable (String) -> Void = { _ in }) {
        self.stack = stack
        self.scenario = scenario
        self.story = story
        self.announce = announce
    }

    public struct Outcome: Sendable {
        public var run: RealRun.Outcome
        /// Steps carried out as the story told them.
        public var followed: Int
        /// Where the real run left the story, in order: steps skipped, and the one it stopped
        /// following at (the last, if it did not `goOn`). Empty: it followed every step.
        public var departures: [StoryDeparture]
        public var departure: StoryDeparture? { departures.first }
    }

    /// One replay on freshly reset databases; `run` numbers it and its request ids.
    public func once(run: UInt64) async throws -> Outcome {
        for revived in try await stack.restartExited() { announce("before run \(run): started again \(revived)") }
        try await stack.reset()
        let real = RealRun(stack: stack, scenario: scenario)
        let plan = real.confirms(run: run)
        let session = ReplaySession(replay: self, plan: plan)
        for name in session.controlledServices { try await session.control(name)?.reset() }
        session.armMessageLosses()
        var followed = 0
        var departures: [StoryDeparture] = []
        for (index, timed) in story.steps.enumerated() {
            do {
                try await session.carryOut(timed, number: index + 1)
                followed += 1
            } catch let left as StoryDeparture {
                departures.append(left)
                announce(left.goesOn ? "skipped \(left)" : "departed from the story at \(left); following it no further")
                if !left.goesOn { break }
            }
        }
        await session.wrapUp()
        let fired = session.fired
        let results = session.outcomes()
        if results.contains(where: { $0.status == nil }) || !fired.isEmpty { await real.settle() }
        let duration = session.elapsedNanoseconds
        let observation = RunObservation(run: run, outcomes: results, quiescent: try await real.quiescentStateOnceReachable(time: duration))
        // A process the story crashed was restarted in its place: one still down died otherwise.
        let deaths = stack.exitedChildren().map { Violation(at: duration, .serviceDied($0)) }
        let outcome = RealRun.Outcome(observation: observation, duringRun: deaths, confirms: [], duration: duration, faults: fired,
                                      scenario: scenario, notInjected: [])
        return Outcome(run: outcome, followed: followed, departures: departures)
    }
}

/// One replay's moving parts: the clients' attempts, the processes' pauses and restarts under
/// way, the faults fired, and how far behind the simulated times the real run has fallen.
private final class ReplaySession: Sendable {
    let replay: StoryReplay
    let plan: [PlannedConfirm]
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant

    /// What an attempt was answered, and when (nanoseconds since the replay began).
    struct Answer: ConfirmAnswerRecord {
        var status: Int?
        var booking: Booking?
        var error: String?
        var outcomeUnknown = false
        /// When it came (or the client stopped waiting), since the replay's start.
        var at: Int64 = 0
    }

    struct Attempt {
        var sentAt: Int64
        var answer: Answer?
        /// The client stopped waiting: a later answer is discarded.
        var abandoned = false
    }

    struct State {
        var attempts: [ReplayStory.Actor: Attempt] = [:]
        var clients: [Task<Void, Never>] = []
        /// Per process, the pause or restart under way.
        var endings: [ProcessID: Task<Void, Never>] = [:]
        var fired: [FiredFault] = []
        /// How far the real run is behind the story's simulated times.
        var lag: Duration = .zero
        /// The step being carried out (0-based): barriers armed later are the ones still to come.
        var current = 0
    }

    let state = Mutex(State())

    init(replay: StoryReplay, plan: [PlannedConfirm]) {
        self.replay = replay
        self.plan = plan
        self.start = clock.now
    }

    var stack: RealStack { replay.stack }
    var story: ReplayStory { replay.story }
    var fired: [FiredFault] { state.withLock { $0.fired } }
    var elapsedNanoseconds: Int64 { ConfirmLoad.nanoseconds(start.duration(to: clock.now)) }

    /// The services the story's barriers are in, by child name.
    var controlledServices: [String] { ["inventory"] + stack.replicas.map(\.name).sorted() }

    func control(_ name: String) -> FaultControlClient? {
        stack.child(named: name).map { FaultControlClient(serviceURL: $0.baseURL, client: stack.client) }
    }

    func record(_ kind: FaultKind, _ mechanism: String) {
        let at = elapsedNanoseconds
        state.withLock { $0.fired.append(FiredFault(kind: kind, at: at, mechanism: mechanism)) }
        replay.announce("fault at \(formatSeconds(at)): \(mechanism)")
    }

    // MARK: Steps

    func carryOut(_ timed: ReplayStory.TimedStep, number: Int) async throws {
        state.withLock { $0.current = number - 1 }
        let step = timed.step
        let departure = { (saw: String) in StoryDeparture(step: number, expected: step.description, saw: saw) }
        if anchored(step) {
            let due = start.advanced(by: .nanoseconds(timed.time) + state.withLock { $0.lag })
            if clock.now < due { try? await clock.sleep(until: due) }
        }
        switch step {
        case .actor(let actor, let action):
            try await carryOut(action, of: actor, departure)
        case .timedFault(let kind, let target, let duration):
            try await strike(kind, target, duration: .nanoseconds(duration), departure)
        case .resumes(let process), .restarts(let process):
            let ending = state.withLock { $0.endings.removeValue(forKey: process) }
            await ending?.value
        case .lockExpires(let key):
            let deadline = clock.now.advanced(by: replay.scenario.lock.ttl + replay.stepTimeout)
            while (try? await stack.lock.holder(of: key)) != nil {
                guard clock.now < deadline else { throw departure("\(key) was still held \(formatSeconds(ConfirmLoad.nanoseconds(replay.scenario.lock.ttl + replay.stepTimeout))) later").skipped }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let behind = start.duration(to: clock.now) - .nanoseconds(timed.time)
        state.withLock { $0.lag = max($0.lag, behind) }
        replay.announce("step \(number) at \(formatSeconds(elapsedNanoseconds)): \(step)")
    }

    /// Steps that happen at their time: a send, a fault at a time, a client giving up while
    /// still waiting. The rest happen when what comes before them has.
    func anchored(_ step: ReplayStory.Step) -> Bool {
        switch step {
        case .actor(_, .send), .timedFault: true
        case .actor(let actor, .gaveUp): state.withLock { $0.attempts[actor]?.answer == nil }
        default: false
        }
    }

    func carryOut(_ action: ReplayStory.Action, of actor: ReplayStory.Actor, _ departure: (String) -> StoryDeparture) async throws {
        switch action {
        case .send(let replica):
            guard let child = stack.child(named: "booking-\(replica)"), plan.indices.contains(actor.user - 1) else {
                throw departure("the real stack has no running booking-\(replica) (or no user-\(actor.user))")
            }
            try await armBarriers(of: [actor], on: nil, departure)
            if actor.attempt > 1 {
                record(.clientRetry, "client-retry user-\(actor.user): the driver sends the same body again (same request id), attempt \(actor.attempt), to \(child.name)")
            }
            send(actor, to: child)
        case .pass(let point, let service):
            try await waitParked(actor, at: point, in: service, departure)
            _ = try await control(name(of: service))?.release(point, origin: actor.origin)
            await settle(actor)
        case .faultAtPoint(let point, let service, let kind, let duration):
            try await waitParked(actor, at: point, in: service, departure)
            try await strike(kind, at: point, of: actor, in: service, duration: .nanoseconds(duration), departure)
        case .blocked(let service):
            let pool = service.kind == .inventory ? stack.inventoryPool : stack.bookingPool
            let deadline = clock.now.advanced(by: .seconds(2))
            while (try? await PostgresInspector.sessionsWaitingForLocks(pool)) ?? 0 == 0 {
                if let answer = answer(of: actor) { throw departure("it was answered \(answer.status.map(String.init) ?? "nothing") without waiting").skipped }
                guard clock.now < deadline else { throw departure("no statement waited for a lock within 2 s").skipped }
                try? await Task.sleep(for: .milliseconds(3))
            }
        case .answered(let status):
            let deadline = clock.now.advanced(by: replay.stepTimeout + replay.scenario.clientTimeout)
            while answer(of: actor) == nil {
                guard clock.now < deadline else { throw departure("no answer came") }
                try? await Task.sleep(for: .milliseconds(3))
            }
            let got = answer(of: actor)!
            guard got.status == status else {
                throw departure("it was answered \(got.status.map(String.init) ?? "nothing (\(got.error ?? "no answer"))")").skipped
            }
        case .gaveUp:
            state.withLock { $0.attempts[actor]?.abandoned = true }
        }
    }

    func answer(of actor: ReplayStory.Actor) -> Answer? {
        state.withLock { $0.attempts[actor]?.answer }
    }

    func name(of service: ProcessID) -> String {
        service.kind == .inventory ? "inventory" : "booking-\(service.index)"
    }

    /// Arms, as one-request barriers, the points `actors` pass in the rest of the story (on
    /// the service named `only`, or everywhere).
    func armBarriers(of actors: [ReplayStory.Actor], on only: String?, _ departure: (String) -> StoryDeparture) async throws {
        let from = state.withLock { $0.current }
        var counts: [String: [AlgorithmPoint: Int]] = [:]
        var order: [(String, String, AlgorithmPoint)] = []
        for timed in story.steps[from...] {
            guard case .actor(let actor, let action) = timed.step, actors.contains(actor) else { continue }
            let point: AlgorithmPoint, service: ProcessID
            switch action {
            case .pass(let p, let s): (point, service) = (p, s)
            case .faultAtPoint(let p, let s, _, _): (point, service) = (p, s)
            default: continue
            }
            let name = name(of: service)
            guard only == nil || only == name else { continue }
            let key = "\(name)|\(actor.origin)"
            if counts[key]?[point] == nil { order.append((name, actor.origin, point)) }
            counts[key, default: [:]][point, default: 0] += 1
        }
        for (name, origin, point) in order {
            guard let control = control(name) else { throw departure("\(name) is not running") }
            _ = try await control.arm(point, .park, count: counts["\(name)|\(origin)"]![point]!, origin: origin)
        }
    }

    func send(_ actor: ReplayStory.Actor, to child: RealStack.Child) {
        let body = plan[actor.user - 1].body
        let sentAt = elapsedNanoseconds
        state.withLock { $0.attempts[actor] = Attempt(sentAt: sentAt) }
        let (client, timeout, url) = (stack.client, replay.scenario.clientTimeout, child.baseURL)
        let task = Task {
            var answer = Answer()
            let sent: Result<APIResponse, NetworkError>
            if let target = try? HTTPRemoteService<BookingRequest>(baseURL: url, client: client) {
                sent = await FaultOrigin.$label.withValue(actor.origin) { () async -> Result<APIResponse, NetworkError> in
                    do throws(NetworkError) { return .success(try await target.call(.confirm(body), timeout: timeout)) } catch { return .failure(error) }
                }
            } else {
                sent = .failure(.unreachable(url))
            }
            switch sent {
            case .success(let response):
                answer.record(response)
            case .failure(let error):
                answer.error = error.description
            }
            answer.at = self.elapsedNanoseconds
            self.state.withLock { $0.attempts[actor]?.answer = answer }
        }
        state.withLock { $0.clients.append(task) }
    }

    /// Waits until `actor`'s request is parked at `point` in `service`.
    func waitParked(_ actor: ReplayStory.Actor, at point: AlgorithmPoint, in service: ProcessID,
                    _ departure: (String) -> StoryDeparture) async throws {
        let name = name(of: service)
        let deadline = clock.now.advanced(by: replay.stepTimeout)
        while true {
            guard let child = stack.child(named: name), child.process.isRunning else { throw departure("\(name) is not running").skipped }
            if !RealFaultInjector.isStopped(child.process.processIdentifier),
               let snapshot = try? await control(name)?.snapshot(), snapshot.isParked(actor.origin, at: point) { return }
            if let answer = answer(of: actor) {
                throw departure("it was answered \(answer.status.map(String.init) ?? "nothing (\(answer.error ?? "no answer"))") before reaching \(point.rawValue)").skipped
            }
            // Parked at a barrier of its own still to come: it went past this point without
            // stopping (a fixed variant's flow passes other points).
            if let elsewhere = await parkingPlace(of: actor), elsewhere != "\(point.rawValue) in \(name)" {
                throw departure("it went on to \(elsewhere) without reaching \(point.rawValue) in \(name)").skipped
            }
            guard clock.now < deadline else {
                let elsewhere = await parkingPlace(of: actor)
                throw departure("it did not reach \(point.rawValue) in \(name) within \(formatSeconds(ConfirmLoad.nanoseconds(replay.stepTimeout)))"
                                + (elsewhere.map { "; it waits at \($0)" } ?? ""))
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Where `actor`'s request is parked, if at any barrier (`point in service`).
    func parkingPlace(of actor: ReplayStory.Actor) async -> String? {
        for name in controlledServices {
            guard let child = stack.child(named: name), child.process.isRunning, !RealFaultInjector.isStopped(child.process.processIdentifier),
                  let snapshot = try? await control(name)?.snapshot(), let point = snapshot.parkingPoint(of: actor.origin) else { continue }
            return "\(point) in \(name)"
        }
        return nil
    }

    /// After a release: lets the request run to its next barrier (or its answer) before the
    /// next step, so what it does in between comes before what others do next; a request
    /// that waits for something else (a lock, a row) is given a moment only.
    func settle(_ actor: ReplayStory.Actor) async {
        let deadline = clock.now.advanced(by: .milliseconds(300))
        while clock.now < deadline {
            if answer(of: actor) != nil { return }
            if await parkingPlace(of: actor) != nil { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    // MARK: Faults

    /// A pause or crash as `actor` reaches `point`: the parked request is released with the
    /// process stopping itself (SIGSTOP) or exiting (`_exit`) right there.
    func strike(_ kind: FaultKind, at point: AlgorithmPoint, of actor: ReplayStory.Actor, in service: ProcessID,
                duration: Duration, _ departure: (String) -> StoryDeparture) async throws {
        let name = name(of: service)
        guard let child = stack.child(named: name), let control = control(name) else { throw departure("\(name) is not running") }
        let pid = child.process.processIdentifier
        let lasting = formatSeconds(ConfirmLoad.nanoseconds(duration))
        switch kind {
        case .pause:
            // Not awaited: the process stops (or exits) before it can answer the release.
            Task { _ = try? await control.release(point, origin: actor.origin, then: .stopProcess) }
            try await waitUntil(departure("\(name) did not stop at \(point.rawValue)")) { RealFaultInjector.isStopped(pid) }
            record(.pause, "pause \(name) at \(point.rawValue) as \(actor) reached it: it stopped itself there (SIGSTOP, pid \(pid)), continued after \(lasting)")
            continueProcess(pid, of: service, after: duration)
        case .crash:
            Task { _ = try? await control.release(point, origin: actor.origin, then: .crash) }
            try await waitUntil(departure("\(name) did not exit at \(point.rawValue)")) { !child.process.isRunning }
            record(.crash, "crash \(name) at \(point.rawValue) as \(actor) reached it: _exit there (pid \(pid)), restarted on port \(child.port) after \(lasting)")
            restart(name, service, after: duration)
        case .redisClockJump:
            await jumpRedisClock(by: duration, departure)
            _ = try await control.release(point, origin: actor.origin)
            await settle(actor)
        case .connectionLoss:
            // The request waits at the point while its process's connections are cut.
            try await cutConnections(of: service, departure, at: point)
            _ = try await control.release(point, origin: actor.origin)
            await settle(actor)
        case .postgresAbort:
            record(.postgresAbort, try await RealFaultInjector.plantAbort(through: control, "postgres-abort \(name) at \(point.rawValue) as \(actor) reached it"))
            _ = try await control.release(point, origin: actor.origin)
            await settle(actor)
        default:
            throw departure("a \(kind.rawValue) at a point is not replayed").skipped
        }
    }

    /// connection-loss: `pg_terminate_backend` of every backend of `service`'s database proxy.
    func cutConnections(of service: ProcessID, _ departure: (String) -> StoryDeparture, at point: AlgorithmPoint? = nil) async throws {
        let selector: ProcessSelector = service.kind == .inventory ? .inventory : .booking(service.index)
        guard let proxy = stack.hopProxies?.databaseProxy(of: selector) else { throw departure("no database proxy for \(service)") }
        let pool = service.kind == .inventory ? stack.inventoryPool : stack.bookingPool
        let pids = (try? await RealFaultInjector.terminateBackends(behind: proxy, using: pool)) ?? []
        record(.connectionLoss, "connection-loss \(name(of: service))\(point.map { " at \($0.rawValue)" } ?? ""): "
               + "pg_terminate_backend of \(pids.count) backend\(pids.count == 1 ? "" : "s")")
    }

    /// Every key's TTL shortened by `jump` at once: the emulated clock jump (see
    /// `RedisLockService.shortenEveryTTL`).
    func jumpRedisClock(by jump: Duration, _ departure: (String) -> StoryDeparture) async {
        do {
            record(.redisClockJump, try await RealFaultInjector.emulateClockJump(by: jump, on: stack.lock))
        } catch {
            replay.announce("fault problem: the emulated redis-clock-jump failed: \(error)")
        }
    }

    /// A fault at a time, carried out now.
    func strike(_ kind: FaultKind, _ target: ProcessID, duration: Duration, _ departure: (String) -> StoryDeparture) async throws {
        let lasting = formatSeconds(ConfirmLoad.nanoseconds(duration))
        switch kind {
        case .pause:
            let name = name(of: target)
            guard let child = stack.child(named: name) else { throw departure("\(name) is not running") }
            let pid = child.process.processIdentifier
            kill(pid, SIGSTOP)
            record(.pause, "pause \(name): SIGSTOP for \(lasting) (pid \(pid))")
            continueProcess(pid, of: target, after: duration)
        case .crash:
            let name = name(of: target)
            guard let child = stack.child(named: name) else { throw departure("\(name) is not running") }
            kill(child.process.processIdentifier, SIGKILL)
            record(.crash, "crash \(name): SIGKILL (pid \(child.process.processIdentifier)), restarted on port \(child.port) after \(lasting)")
            restart(name, target, after: duration)
        case .redisRestart:
            guard let servers = stack.servers else { throw departure("Redis was given by URL; only a throwaway redis-server is restarted") }
            record(.redisRestart, "redis-restart: SIGKILL of redis-server (no persistence: every key lost), down for \(lasting), then a fresh one on the same port")
            let ending = Task<Void, Never> { _ = try? await servers.restartRedis(downtime: duration) }
            state.withLock { $0.endings[target] = ending }
        case .redisClockJump:
            await jumpRedisClock(by: duration, departure)
        case .connectionLoss:
            try await cutConnections(of: target, departure)
        default:
            throw departure("a \(kind.rawValue) is not replayed").skipped
        }
    }

    /// The stopped process `pid` continued (SIGCONT) `after` the pause, cancelled or not: a
    /// stopped child must not outlive the replay.
    func continueProcess(_ pid: Int32, of process: ProcessID, after duration: Duration) {
        let ending = Task {
            try? await Task.sleep(for: duration)
            kill(pid, SIGCONT)
        }
        state.withLock { $0.endings[process] = ending }
    }

    /// `name` (already killed or exited) started again `after` on its port, with the barriers
    /// still to come there armed again.
    func restart(_ name: String, _ service: ProcessID, after downtime: Duration) {
        let ending = Task {
            do {
                _ = try await self.stack.crashAndRestart(name, downtime: downtime)
                let sent = self.state.withLock { Array($0.attempts.keys) }
                try await self.armBarriers(of: sent, on: name) { StoryDeparture(step: 0, expected: "re-arm \(name)", saw: $0) }
            } catch {
                self.replay.announce("fault problem: \(name) did not come back: \(error)")
            }
        }
        state.withLock { $0.endings[service] = ending }
    }

    func waitUntil(_ departure: @autoclosure () -> StoryDeparture, _ condition: () -> Bool) async throws {
        let deadline = clock.now.advanced(by: .seconds(5))
        while !condition() {
            guard clock.now < deadline else { throw departure() }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Drops the request or the reply of the story's lost inventory calls, counted per
    /// replica from the start of the replay.
    func armMessageLosses() {
        guard !story.messageLosses.isEmpty else { return }
        for (replica, proxy) in stack.hopProxies?.proxies(on: .bookingInventory) ?? [] {
            guard let replica else { continue }
            let losses = story.messageLosses.filter { $0.replica == replica }
            guard !losses.isEmpty else { continue }
            let calls = CallCounter()
            proxy.onEachCall { [weak self] in
                let call = calls.next()
                guard let loss = losses.first(where: { $0.call == call }) else { return nil }
                var fate = FaultProxy.CallFate()
                if loss.losesReply { fate.losesReply = true } else { fate.losesRequest = true }
                self?.record(loss.losesReply ? .replyLoss : .requestLoss,
                             "\(loss.losesReply ? "reply" : "request")-loss on booking-inventory (booking-\(replica)): the proxy "
                             + (loss.losesReply ? "forwards call \(call) and drops its reply (the work happened)" : "drops call \(call) (the inventory never sees it)"))
                return fate
            }
        }
    }

    // MARK: The end

    /// Every barrier released and disarmed, every pause and restart run to its end, every
    /// client's attempt answered or timed out; the proxies forward again.
    func wrapUp() async {
        for name in controlledServices {
            if let child = stack.child(named: name), child.process.isRunning, !RealFaultInjector.isStopped(child.process.processIdentifier) {
                try? await control(name)?.reset()
            }
        }
        for ending in state.withLock({ Array($0.endings.values) }) { await ending.value }
        state.withLock { $0.endings.removeAll() }
        // A process continued after its pause may still hold a barrier armed during it.
        for name in controlledServices { try? await control(name)?.reset() }
        for client in state.withLock({ $0.clients }) { await client.value }
        stack.hopProxies?.healAll()
    }

    /// Each user's outcome: its last attempt's answer, none if the client gave up on it.
    func outcomes() -> [ClientOutcome] {
        let attempts = state.withLock { $0.attempts }
        return plan.enumerated().map { index, planned in
            let stay = Stay(room: planned.body.room, checkIn: planned.body.checkIn, checkOut: planned.body.checkOut)
                ?? Stay(room: planned.body.room, checkIn: planned.body.checkIn, checkOut: planned.body.checkIn.adding(days: 1))!
            var outcome = ClientOutcome(user: planned.body.userID, process: ProcessID(kind: .client, index: index + 1), stay: stay,
                                        requestID: planned.body.requestID)
            let mine = attempts.filter { $0.key.user == index + 1 }.sorted { $0.key < $1.key }
            guard let first = mine.first, let last = mine.last else { return outcome }
            outcome.sentAt = first.value.sentAt
            outcome.attempts = mine.count
            if let answer = last.value.answer, !last.value.abandoned {
                (outcome.status, outcome.booking, outcome.error, outcome.completedAt) = (answer.status, answer.booking, answer.error, answer.at)
                outcome.outcomeUnknown = answer.outcomeUnknown
            } else {
                outcome.error = "the client stopped waiting"
                outcome.completedAt = last.value.answer?.at
            }
            return outcome
        }
    }
}

/// Counts the calls through one proxy, from the proxy's threads.
private final class CallCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int {
        count.withLock { count in
            count += 1
            return count
        }
    }
}
