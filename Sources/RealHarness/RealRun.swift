import Backends
import BookingCore
import Checking
import Foundation
import RunObservation
import Services

/// One scenario against the real stack: the users over HTTP at their arrival times, then what
/// the real databases and Redis hold afterwards, as a `RunObservation` for `Checking` to judge.
public struct RealRun: Sendable {
    public let stack: RealStack
    public let scenario: Scenario
    /// Each run plays the scenario with this fault profile applied for its number, as the
    /// simulator applies it for a seed (`swarm` draws a fault mix, arrival spread and client
    /// timeout): real run N meets the faults of `overbook replay SCENARIO --profile P --seed N`,
    /// as far as real mode can carry them out.
    public let profile: FaultProfile?
    /// Hears of each fault as it fires (with its mechanism).
    public let announce: @Sendable (String) -> Void
    /// Times every confirm's round trip on the client-booking hop (`overbook calibrate`).
    public let clientTimer: HopTimer?

    public init(stack: RealStack, scenario: Scenario, swarm: Bool = false, profile: FaultProfile? = nil,
                clientTimer: HopTimer? = nil, announce: @escaping @Sendable (String) -> Void = { _ in }) {
        self.stack = stack
        self.scenario = scenario
        self.profile = swarm ? FaultProfile.named("swarm") : profile
        self.clientTimer = clientTimer
        self.announce = announce
    }

    /// The scenario run `run` plays.
    public func scenario(forRun run: UInt64) -> Scenario {
        profile?.apply(to: scenario, seed: run) ?? scenario
    }

    /// What one real run showed.
    public struct Outcome: Sendable {
        public var observation: RunObservation
        /// Seen as the run went: a service process that died.
        public var duringRun: [Violation]
        public var confirms: [ConfirmResult]
        /// Wall-clock nanoseconds from the first send to the last answer.
        public var duration: Int64
        /// The faults carried out on the real stack, in order.
        public var faults: [FiredFault] = []
        /// The scenario the run played (with a profile, applied for it).
        public var scenario: Scenario
        /// Its faults real mode could not carry out.
        public var notInjected: [SkippedFault] = []
    }

    /// Runs the scenario once on freshly reset databases. `run` numbers the observation (it
    /// stands where a simulated run has its seed) and varies the request ids and arrival draws.
    public func once(run: UInt64) async throws -> Outcome {
        guard profile == nil else {
            return try await RealRun(stack: stack, scenario: scenario(forRun: run), clientTimer: clientTimer, announce: announce).once(run: run)
        }
        for revived in try await stack.restartExited() { announce("before run \(run): started again \(revived)") }
        try await stack.reset()
        let plan = confirms(run: run)
        // By replica number: a restarted replica must keep its place in the round-robin.
        let targets = try stack.replicas.sorted { Int($0.name.dropFirst("booking-".count)) ?? 0 < Int($1.name.dropFirst("booking-".count)) ?? 0 }
            .map { try HTTPRemoteService<BookingRequest>(baseURL: $0.baseURL, client: stack.client, timer: clientTimer) }
        // Armed only when the scenario has faults; then they count from the load's own origin.
        let injector = scenario.faults.isEmpty ? nil : RealFaultInjector(scenario: scenario, run: run, stack: stack, announce: announce)
        try await injector?.prepare()
        let origin = ConfirmLoad.origin()
        stack.arm(injector)
        injector?.start(origin: origin)
        let (results, duration) = await ConfirmLoad(targets: targets, timeout: scenario.clientTimeout, retries: injector?.clientRetries)
            .run(plan, origin: origin)
        await injector?.finish()
        stack.arm(nil)
        let fired = injector?.fired ?? []
        if results.contains(where: { $0.status == nil }) || !fired.isEmpty {
            // A request the client gave up on (or one a fault held up) may still be running in
            // a replica; let it end before the databases are read, as the simulator runs to
            // quiescence.
            if let left = await settle() {
                announce("run \(run) did not come to rest before its final read: \(left); what they write may land in the next run")
            }
        }
        let outcomes = results.enumerated().map { index, result in
            var outcome = ClientOutcome(user: result.user, process: ProcessID(kind: .client, index: index + 1), stay: result.stay,
                                        sentAt: result.sentAt, completedAt: result.completedAt, status: result.status,
                                        booking: result.booking, error: result.error, requestID: plan[index].body.requestID)
            outcome.outcomeUnknown = result.outcomeUnknown
            return outcome
        }
        let observation = RunObservation(run: run, outcomes: outcomes, quiescent: try await quiescentStateOnceReachable(time: duration))
        let deaths = (stack.exitedChildren() + (injector?.problems ?? [])).map { Violation(at: duration, .serviceDied($0)) }
        return Outcome(observation: observation, duringRun: deaths, confirms: results, duration: duration, faults: fired,
                       scenario: scenario, notInjected: injector?.skipped ?? [])
    }

    /// Runs the scenario once per number in `runs`, each on freshly reset databases, and judges
    /// each run as a simulated one is judged; `finished(run, verdict, duration)` hears of each
    /// run as it ends (duration: wall-clock nanoseconds from the first send to the last answer).
    /// A run that breaks a safety invariant leaves its `RunEvidence` under `evidenceRoot`, when
    /// one is given, and says where.
    public func judged(_ runs: some Sequence<UInt64>, evidenceRoot: String? = nil,
                       finished: (_ run: UInt64, _ verdict: RunVerdict, _ duration: Int64) -> Void = { _, _, _ in })
        async throws -> [(verdict: RunVerdict, duration: Int64, faults: [FiredFault], notInjected: [SkippedFault])] {
        var judged: [(verdict: RunVerdict, duration: Int64, faults: [FiredFault], notInjected: [SkippedFault])] = []
        for run in runs {
            let outcome = try await once(run: run)
            let verdict = outcome.verdict(outcome.scenario)
            if let evidenceRoot, verdict.violations.contains(where: { safetyInvariants.contains($0.invariant) }) {
                do {
                    let evidence = RunEvidence(directory: try RunEvidence.directory(scenario: scenario.name, variant: outcome.scenario.variant.rawValue,
                                                                                    run: run, under: evidenceRoot))
                    try evidence.write(outcome, verdict: verdict, logs: stack.workDirectory.appendingPathComponent("logs"))
                    announce("run \(run) broke safety: its answers, rows, faults and service logs are kept in \(evidence.directory.path)")
                } catch {
                    announce("run \(run) broke safety; its evidence could not be written under \(evidenceRoot)/real-evidence: \(error)")
                }
            }
            finished(run, verdict, outcome.duration)
            judged.append((verdict, outcome.duration, outcome.faults, outcome.notInjected))
        }
        return judged
    }

    /// Every user's confirm with its own request id and its arrival, drawn from the scenario's
    /// seed and the run number so a run's arrival pattern can be repeated.
    func confirms(run: UInt64) -> [PlannedConfirm] {
        var random = SplitMix64(seed: scenario.seed &+ run)
        return scenario.expandedUsers.enumerated().map { index, user in
            let arrival: Duration
            switch user.arrival {
            case .at(let time):
                arrival = time
            case .uniform(let from, let to):
                let (low, high) = (ConfirmLoad.nanoseconds(from), ConfirmLoad.nanoseconds(to))
                let offset = high > low ? Int64(random.next() % UInt64(high - low + 1)) : 0
                arrival = .nanoseconds(low + offset)
            }
            let body = ConfirmBody(userID: user.user, stay: user.stay, requestID: RequestID("run\(run)-req-\(index + 1)"))
            return PlannedConfirm(body: body, arrival: arrival)
        }
    }

    /// Waits (at most the lock TTL plus the inventory timeout, and 16 s more for a variant
    /// whose recovery worker resolves pending sagas) until no service is still serving a
    /// request, no lock key is left, no transaction is open and no saga is pending: the
    /// quiescence a simulated run ends in. A request its client gave up on may be between two
    /// statements (in the lock's back-off, say), with nothing of it visible in Redis or
    /// PostgreSQL; were it not waited for, it would write into the next run's databases.
    /// Returns what was still going on at the deadline, in words; `nil` once quiescent.
    @discardableResult
    func settle() async -> String? {
        let clock = ContinuousClock()
        let resolvesPending = scenario.variant.flow.resolvesPendingBookings
        // A pending saga is the recovery worker's to finish: its pauses grow to 8 s, as long
        // as the inventory stays out of reach.
        // A command a latency spike still holds in a proxy (a SET NX the caller gave up on) lands
        // later and leaves a key for its whole TTL: in flight, as a simulated message is until
        // delivered, so the wait covers the longest spike too.
        let longestSpike = scenario.faults.filter { $0.kind == .latencySpike }.map(\.duration).max() ?? .zero
        let deadline = clock.now.advanced(by: scenario.lock.ttl + scenario.inventoryTimeout + longestSpike + (resolvesPending ? .seconds(16) : .zero))
        let bookings = PostgresBookingDatabase(pool: stack.bookingPool)
        var left: [String] = []
        while clock.now < deadline {
            let inFlight = stack.hopProxies?.delayedChunks ?? 0
            let locks = (try? await stack.lock.liveKeys(matching: "lock:*"))?.count ?? 0
            let open = (try? await openTransactions())?.count ?? 0
            let pending = resolvesPending ? (try? await bookings.pendingBookings())?.count ?? 0 : 0
            let serving = inFlight == 0 && locks == 0 && open == 0 && pending == 0 ? await requestsBeingServed() : 0
            if inFlight == 0 && locks == 0 && open == 0 && pending == 0 && serving == 0 { return nil }
            left = [(inFlight, "chunk(s) held in a proxy"), (locks, "lock key(s)"), (open, "open transaction(s)"),
                    (pending, "pending saga(s)"), (serving, "request(s) still being served")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return left.isEmpty ? nil : left.joined(separator: ", ")
    }

    /// The API requests the services are serving now, as their fault control counts them (a
    /// service without `--fault-control`, or one that does not answer, counts none).
    func requestsBeingServed() async -> Int {
        var serving = 0
        for child in stack.replicas + [stack.inventory].compactMap({ $0 }) {
            let control = FaultControlClient(serviceURL: child.baseURL, client: stack.client)
            serving += (try? await control.snapshot())?.inFlight ?? 0
        }
        return serving
    }

    /// What the databases and Redis hold now, read through the same store protocols the
    /// services use.
    /// `quiescentState` once the databases and Redis answer again: a backend restarted during
    /// the run drops the connections the driver had open to it (each is replaced only at its
    /// next use), and one restarted near the end may still be in crash recovery when the last
    /// answer is in. A dependency that cannot be reached is waited for (up to `patience`); any
    /// other error is tried three times, 0.5 s apart.
    func quiescentStateOnceReachable(time: Int64, patience: Duration = .seconds(60)) async throws -> QuiescentState {
        let deadline = ContinuousClock.now + patience
        var otherErrors = 0
        while true {
            do {
                return try await quiescentState(time: time)
            } catch let error where Self.isUnreachable(error) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
            } catch let error where !Self.isUnreachable(error) && otherErrors < 2 {
                otherErrors += 1
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// A server that is down or still recovering (`StoreError.isServerUnreachable`), or Redis
    /// unreachable.
    static func isUnreachable(_ error: any Error) -> Bool {
        switch error {
        case let error as StoreError: error.isServerUnreachable
        case LockError.unavailable, LockError.timeout: true
        default: false
        }
    }

    public func quiescentState(time: Int64) async throws -> QuiescentState {
        let bookings = try await PostgresBookingDatabase(pool: stack.bookingPool).allBookings()
        let inventory = PostgresInventoryDatabase(pool: stack.inventoryPool)
        var availability: [(RoomNight, Int)] = []
        for room in scenario.rooms {
            for night in scenario.inventoryNights {
                let key = RoomNight(room: room.id, night: night)
                if let quantity = try await inventory.availableQuantity(key) { availability.append((key, quantity)) }
            }
        }
        // Real mode cannot tell who set a key or whether its release was tried: any key still
        // there once every answer is in counts as left held.
        let locks = try await stack.lock.liveKeys(matching: "lock:*").map { LiveLock(key: $0.key, value: $0.value) }
        return QuiescentState(time: time, bookings: bookings, availability: availability.sorted { $0.0 < $1.0 }, liveLocks: locks,
                              openTransactions: try await openTransactions(),
                              pendingBookings: bookings.filter { $0.status == .pending })
    }

    private func openTransactions() async throws -> [String] {
        var open: [String] = []
        for (name, pool) in [("inventory_db", stack.inventoryPool), ("booking_db", stack.bookingPool)] {
            open += try await PostgresInspector.transactionsLeftOpen(pool).map { "\(name) \($0)" }
        }
        return open
    }
}

extension RealRun.Outcome {
    /// This run judged by the same checks as a simulated one.
    public func verdict(_ scenario: Scenario) -> RunVerdict {
        Verdicts.judge(scenario: scenario, observation: observation, duringRun: duringRun)
    }
}
