import BookingCore
import RunObservation

extension SimWorld {
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
}

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
    /// How it serves requests: its workers, accept queue and service time.
    public internal(set) var serving: Serving = .unlimited
    /// The current incarnation's workers; a restarted process starts with all of them idle.
    private var workers = SimWorkers(incarnation: 0)

    public init(id: ProcessID, handler: @escaping @Sendable (Request) async -> APIResponse) {
        self.id = id
        self.context = ProcessContext(id: id, incarnation: 0)
        self.handler = handler
    }

    /// Runs `handler` for one delivered request as `serving` has it: once a worker is free (in
    /// arrival order), after the request's service time; `nil` when the accept queue was full.
    func serve(_ request: Request, in context: ProcessContext, simulator: Simulator,
               _ handler: @escaping @Sendable (Request) async -> APIResponse) async -> APIResponse? {
        guard !serving.isUnlimited else { return await handler(request) }
        if workers.incarnation != context.incarnation { workers = SimWorkers(incarnation: context.incarnation) }
        let workers = self.workers
        if let limit = serving.workers {
            guard await workers.enter(limit: limit, backlog: serving.backlog, context, simulator) else { return nil }
        }
        if let time = serving.serviceTime {
            let cost = simulator.drawLatency(time)
            await simulator.park(context, "serving") { waker in simulator.schedule(after: cost) { simulator.wake(waker) } }
        }
        let response = await handler(request)
        if serving.workers != nil { workers.leave(simulator) }
        return response
    }
}

/// One incarnation's sync workers: how many are busy and who waits for one, first come first
/// served (a worker that finishes hands itself to the longest waiting request).
final class SimWorkers {
    let incarnation: Int
    private var busy = 0
    private var waiting: [Waker] = []
    private var head = 0

    init(incarnation: Int) {
        self.incarnation = incarnation
    }

    /// Takes a worker, waiting for one if all are busy; `false` if `backlog` already wait.
    func enter(limit: Int, backlog: Int, _ context: ProcessContext, _ simulator: Simulator) async -> Bool {
        if busy < limit {
            busy += 1
            return true
        }
        guard waiting.count - head < backlog else { return false }
        await simulator.park(context, "queued for a worker") { waker in waiting.append(waker) }
        return true
    }

    /// Gives the worker to the next waiting request, or back to the idle ones.
    func leave(_ simulator: Simulator) {
        guard head < waiting.count else {
            busy -= 1
            return
        }
        let next = waiting[head]
        head += 1
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        simulator.wake(next)
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
        let attempt = RequestOrigin.attempt
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
                    let served = await RequestOrigin.$user.withValue(origin) {
                        await RequestOrigin.$attempt.withValue(attempt) {
                            await server.serve(request, in: serverContext, simulator: simulator, handler)
                        }
                    }
                    let response = served ?? .error(StatusCode.serviceUnavailable, Serving.backlogFullMessage)
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
