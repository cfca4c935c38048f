import BookingCore
import RunObservation

/// How to run: what to record and when to give up.
public struct SimulationOptions: Sendable {
    public var traceMode: Trace.Mode
    public var recordChoices: Bool
    public var budget: SimulationBudget
    public init(traceMode: Trace.Mode = .hashOnly, recordChoices: Bool = false, budget: SimulationBudget = SimulationBudget()) {
        self.traceMode = traceMode
        self.recordChoices = recordChoices
        self.budget = budget
    }
}

public struct SimulationOutput: Sendable {
    public var seed: UInt64
    public var outcomes: [ClientOutcome]
    public var failure: SimulationFailure?
    public var quiescent: QuiescentState
    public var traceHash: UInt64
    public var traceCount: Int
    public var steps: Int
    public var events: [TraceEvent]
    /// The fault points requests reached (recorded runs only).
    public var points: [PointPass] = []
    public var choices: [Choice]
    public var coverage: Coverage
    /// The scenario's faults that were active in this run.
    public var activeFaults: [FaultSpec]
    /// The strategy stopped the run early (a state it had already explored): nothing to check.
    public var abandoned = false

    /// What the run showed, in the terms both worlds share, for `Checking` to judge.
    public var observation: RunObservation {
        RunObservation(run: seed, outcomes: outcomes, quiescent: quiescent, incompletion: failure?.description)
    }
}

/// Observes a run as it goes; the checkers implement it (no I/O, called on the simulator's thread).
public protocol RunObserver: AnyObject {
    /// After each successful commit in either database.
    func committed(in database: SimPostgresServer, world: SimWorld)
}

/// Builds the world a scenario describes (clients, booking replicas, the inventory service,
/// Redis and both databases), runs it for one seed, and reports what happened.
public enum ScenarioSimulation {
    /// `source`: where the run's decisions come from; seeded random from `seed` when `nil`.
    public static func run(_ scenario: Scenario, seed: UInt64, options: SimulationOptions = SimulationOptions(),
                           observer: (any RunObserver)? = nil, source: (any ChoiceSource)? = nil) -> SimulationOutput {
        let simulator = Simulator(seed: seed, trace: Trace(mode: options.traceMode), budget: options.budget,
                                  spawnShards: max(1, scenario.userCount / 64), source: source)
        simulator.recordsChoices = options.recordChoices
        var availability: [RoomNight: Int] = [:]
        for room in scenario.rooms {
            for night in scenario.inventoryNights {
                availability[RoomNight(room: room.id, night: night)] = room.capacity
            }
        }
        let world = SimWorld(simulator: simulator, latency: scenario.latency, rooms: scenario.rooms.map(\.room), availability: availability)
        if let observer {
            world.onCommit = { [unowned world] server in observer.committed(in: server, world: world) }
        }

        if !scenario.faults.isEmpty {
            let injector = FaultInjector(specs: scenario.faults, world: world)
            injector.bookingReplicas = max(1, scenario.bookingReplicas)
            world.faults = injector
            world.redis.journaling = injector.activeFaults.contains { $0.kind == .redisFailover }
        }

        let inventory = SimServiceProcess<InventoryRequest>(id: ProcessID(kind: .inventory, index: 0)) { _ in
            .error(StatusCode.serviceUnavailable, "starting")
        }
        inventory.handler = inventoryHandler(world: world, context: inventory.context, decrement: scenario.inventoryDecrement)
        inventory.serving = scenario.inventoryServing
        world.restarters[inventory.id] = { context in
            inventory.context = context
            inventory.handler = inventoryHandler(world: world, context: context, decrement: scenario.inventoryDecrement)
        }

        let configuration = scenario.bookingConfiguration
        let replicas = (1...max(1, scenario.bookingReplicas)).map { index in
            let process = SimServiceProcess<BookingRequest>(id: ProcessID(kind: .booking, index: index)) { _ in
                .error(StatusCode.serviceUnavailable, "starting")
            }
            let service = bookingService(world: world, context: process.context, inventory: inventory, configuration: configuration)
            process.handler = { await service.handle($0) }
            process.serving = scenario.bookingServing
            world.restarters[process.id] = { context in
                let service = bookingService(world: world, context: context, inventory: inventory, configuration: configuration)
                process.context = context
                process.handler = { await service.handle($0) }
                // A restarted crash-safe replica first finishes what crashed replicas left pending.
                service.startRecovery()
            }
            return process
        }

        simulator.source.attach(to: world)
        let plans = scenario.expandedUsers
        let outcomes = Box<[ClientOutcome]>()
        outcomes.value = plans.enumerated().map { index, plan in
            ClientOutcome(user: plan.user, process: ProcessID(kind: .client, index: index + 1), stay: plan.stay)
        }
        // Arrivals are drawn up front, in user order, so they do not depend on the schedule.
        let arrivals: [Int64] = plans.map { plan in
            switch plan.arrival {
            case .at(let time): time.nanoseconds
            case .uniform(let from, let to): simulator.draw(.detail, from.nanoseconds, to.nanoseconds)
            }
        }
        let clientTimeout = scenario.clientTimeout

        var quiescent = QuiescentState(time: 0, bookings: [], availability: [], liveLocks: [], openTransactions: [], crashed: [])
        world.faults?.scheduleTimedFaults()
        let failure = simulator.run({
            // Clients in groups of at most 64, for the same reason as the simulator's spawn shards.
            await withDiscardingTaskGroup { chunks in
                for chunk in stride(from: 0, to: plans.count, by: 64) {
                    chunks.addTask {
                        await withDiscardingTaskGroup { group in
                            for index in chunk..<min(plans.count, chunk + 64) {
                                let context = ProcessContext(id: ProcessID(kind: .client, index: index + 1), incarnation: 0)
                                let client = SimClient(
                                    plan: plans[index], index: index, arrival: arrivals[index],
                                    clock: SimClock(simulator: simulator, process: context),
                                    booking: SimRemoteService(world: world, caller: context, hop: .clientBooking, replicas: replicas),
                                    timeout: clientTimeout, world: world, context: context, outcomes: outcomes)
                                group.addTask { await RequestOrigin.$user.withValue(index + 1) { await client.run() } }
                            }
                        }
                    }
                }
            }
        }, atQuiescence: {
            quiescent = QuiescentState(
                time: simulator.now,
                bookings: world.bookingDatabase.model.bookings(),
                availability: world.inventoryDatabase.model.committedAvailability,
                liveLocks: world.redis.liveKeys(now: simulator.now).map {
                    LiveLock(key: $0.key, value: $0.entry.value, setter: world.lockSetters[$0.entry.value],
                             releaseAttempted: world.releaseAttempts.contains($0.entry.value))
                },
                openTransactions: world.inventoryDatabase.model.openTransactions.map { "inventory_db \($0)" }
                    + world.bookingDatabase.model.openTransactions.map { "booking_db \($0)" },
                crashed: world.crashedProcesses.sorted(),
                pendingBookings: world.bookingDatabase.model.bookings().filter { $0.status == .pending })
        })
        // The restarters close over the world that holds them (and over the processes, whose
        // handlers reach the world again): a cycle that would keep every run's world alive.
        defer { world.restarters.removeAll() }
        return SimulationOutput(seed: seed, outcomes: outcomes.value ?? [], failure: failure, quiescent: quiescent,
                                traceHash: simulator.trace.hash, traceCount: simulator.trace.count, steps: simulator.steps,
                                events: simulator.trace.events, points: simulator.trace.points,
                                choices: simulator.choices, coverage: world.coverage,
                                activeFaults: world.faults?.activeFaults ?? [], abandoned: simulator.abandoned)
    }

    static func inventoryHandler(world: SimWorld, context: ProcessContext,
                                 decrement: InventoryService.Decrement) -> @Sendable (InventoryRequest) async -> APIResponse {
        let faults: (any FaultPoints)? = world.faults?.aimsAtInventoryPoints == true ? SimFaultPoints(world: world, process: context)
            : world.simulator.trace.mode == .record ? SimPointNotes(world: world, process: context) : nil
        let service = InventoryService(database: SimInventoryDatabase(world: world, caller: context), decrement: decrement, faults: faults)
        return { request in await service.handle(request) }
    }

    static func bookingService(world: SimWorld, context: ProcessContext, inventory: SimServiceProcess<InventoryRequest>,
                               configuration: BookingConfiguration) -> BookingService<SimClock> {
        BookingService(
            clock: SimClock(simulator: world.simulator, process: context),
            lock: SimLockService(world: world, caller: context),
            database: SimBookingDatabase(world: world, caller: context),
            inventory: SimRemoteService(world: world, caller: context, hop: .bookingInventory, replicas: [inventory]),
            ids: SimIdentifiers(simulator: world.simulator),
            faults: SimFaultPoints(world: world, process: context),
            configuration: configuration,
            background: SimBackgroundWork(simulator: world.simulator))
    }
}

/// One simulated user: waits for its arrival time, sends its confirm, records what it saw.
struct SimClient: Sendable {
    let plan: UserPlan
    let index: Int
    let arrival: Int64
    let clock: SimClock
    let booking: SimRemoteService<BookingRequest>
    let timeout: Duration
    let world: SimWorld
    let context: ProcessContext
    let outcomes: Box<[ClientOutcome]>

    func run() async {
        if arrival > 0 {
            do { try await clock.sleep(until: SimClock.Instant(nanoseconds: arrival), tolerance: nil) } catch { return }
        }
        let requestID = RequestID("req-\(index + 1)")
        world.trace(TraceEvent(time: world.now, process: context, op: .arrive, subject: .user(plan.user), a: Int64(index + 1)))
        outcomes.value![index].sentAt = world.now
        let body = ConfirmBody(userID: plan.user, stay: plan.stay, requestID: requestID)
        var retriesLeft: Int?
        // An impatient client's re-sends left, set by the first impatient attempt's fault.
        var impatientRetriesLeft: Int?
        var attempt = 1
        while true {
            // An impatient attempt stops waiting after the fault's duration and is sent again;
            // the attempt it gave up on runs on at the server, and its late reply is discarded.
            var wait = timeout
            var impatient = false
            if (impatientRetriesLeft ?? 1) > 0, let impatience = world.faults?.impatience(for: context.id) {
                if impatientRetriesLeft == nil { impatientRetriesLeft = impatience.retries }
                wait = impatience.wait
                impatient = true
            }
            do {
                let sent = await RequestOrigin.$attempt.withValue(attempt) { () async -> Result<APIResponse, NetworkError> in
                    do throws(NetworkError) { return .success(try await booking.call(.confirm(body), timeout: wait)) } catch { return .failure(error) }
                }
                let response = try sent.get()
                guard !world.simulator.sealed else { return }
                outcomes.value![index].record(response)
            } catch {
                guard !world.simulator.sealed else { return }
                outcomes.value![index].error = error.description
                // The seed's client gives up; a retrying client sends the same request again.
                if error == .timeout {
                    let resend: Bool
                    if impatient {
                        impatientRetriesLeft! -= 1
                        resend = true
                    } else {
                        if retriesLeft == nil { retriesLeft = world.faults?.retries(for: context.id) ?? 0 }
                        resend = retriesLeft! > 0
                        if resend { retriesLeft! -= 1 }
                    }
                    if resend {
                        attempt += 1
                        world.coverage.hit(.clientRetried)
                        world.trace(TraceEvent(time: world.now, process: context, op: .retry, subject: .user(plan.user), a: Int64(attempt)))
                        outcomes.value![index].attempts = attempt
                        continue
                    }
                }
            }
            break
        }
        outcomes.value![index].completedAt = world.now
        world.trace(TraceEvent(time: world.now, process: context, op: .complete, subject: .user(plan.user),
                               a: Int64(outcomes.value![index].status ?? 0), b: outcomes.value![index].latency ?? 0))
    }
}

/// Runs arbitrary async code inside a fresh simulated world: for contract tests of the simulated
/// services and for tests of the simulator itself.
public enum SimulationHarness {
    /// `body` runs as a task of process `client 1`; returns the run's failure, if any.
    public static func run(seed: UInt64 = 1, latency: LatencyProfile = .lan, rooms: [Room] = [],
                           availability: [RoomNight: Int] = [:], trace: Trace.Mode = .hashOnly,
                           _ body: @escaping @Sendable (SimWorld) async -> Void) -> (failure: SimulationFailure?, world: SimWorld) {
        let simulator = Simulator(seed: seed, trace: Trace(mode: trace))
        let world = SimWorld(simulator: simulator, latency: latency, rooms: rooms, availability: availability)
        let failure = simulator.run({ await body(world) })
        return (failure, world)
    }

    /// A caller process for harness code (`user-N`).
    public static func process(_ index: Int) -> ProcessContext {
        ProcessContext(id: ProcessID(kind: .client, index: index), incarnation: 0)
    }
}
