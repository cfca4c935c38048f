import Backends
import BookingCore
import Checking
import RunObservation
import Foundation
import Services
import Simulation

/// One scenario against the real stack: the users over HTTP at their arrival times, then the
/// same checks as a simulated run, on what the real databases and Redis hold afterwards.
struct RealRun: Sendable {
    let stack: RealStack
    let scenario: Scenario

    /// Runs the scenario once on freshly reset databases. `run` numbers the verdict (it stands
    /// where a simulated run has its seed) and varies the request ids and arrival draws.
    func once(run: UInt64) async throws -> (verdict: RunVerdict, results: [ConfirmResult], duration: Int64) {
        try await stack.reset()
        let plans = scenario.expandedUsers
        var random = SplitMix64(seed: scenario.seed &+ run)
        let plan = plans.enumerated().map { index, user in
            let arrival: Duration = switch user.arrival {
            case .at(let time): time
            case .uniform(let from, let to): .nanoseconds(random.inRange(from.nanoseconds, to.nanoseconds))
            }
            return PlannedConfirm(body: ConfirmBody(userID: user.user, stay: user.stay, requestID: RequestID("run\(run)-req-\(index + 1)")),
                                  arrival: arrival)
        }
        let targets = try stack.replicas.map { try HTTPRemoteService<BookingRequest>(baseURL: $0.baseURL, client: stack.client) }
        let (results, duration) = await ConfirmLoad(targets: targets, timeout: scenario.clientTimeout).run(plan)
        if results.contains(where: { $0.status == nil }) {
            // A request the client gave up on may still be running in a replica; let it end
            // before the databases are read, as the simulator runs to quiescence.
            await settle()
        }
        let quiescent = try await quiescentState(time: duration)
        let outcomes = results.enumerated().map { index, result in
            ClientOutcome(user: result.user, process: ProcessID(kind: .client, index: index + 1), stay: result.stay,
                          sentAt: result.sentAt, completedAt: result.completedAt, status: result.status,
                          booking: result.booking, error: result.error, requestID: plan[index].body.requestID)
        }
        let crashes = stack.exitedChildren().map {
            Violation(at: duration, .serviceDied($0))
        }
        let observation = RunObservation(run: run, outcomes: outcomes, quiescent: quiescent)
        return (Verdicts.judge(scenario: scenario, observation: observation, duringRun: crashes), results, duration)
    }

    /// Waits (at most the lock TTL plus the inventory timeout) until no lock key is left and no
    /// transaction is open.
    private func settle() async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: scenario.lock.ttl + scenario.inventoryTimeout)
        while clock.now < deadline {
            let locks = (try? await stack.lock.liveKeys(matching: "lock:*"))?.count ?? 0
            let open = (try? await openTransactions())?.count ?? 0
            if locks == 0 && open == 0 { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// What the databases and Redis hold now, in the simulator's terms.
    func quiescentState(time: Int64) async throws -> QuiescentState {
        let bookings = try await PostgresBookingDatabase(pool: stack.bookingPool).allBookings()
        var wanted: Set<RoomNight> = []
        for room in scenario.rooms { for night in scenario.inventoryNights { wanted.insert(RoomNight(room: room.id, night: night)) } }
        let rows = try await stack.inventoryPool.execute("SELECT room_id, date, available_quantity FROM availability ORDER BY room_id, date")
        var availability: [(RoomNight, Int)] = []
        for row in rows.rows.indices {
            let key = RoomNight(room: RoomID(try rows.int(row: row, column: 0)), night: try rows.night(row: row, column: 1))
            if wanted.contains(key) { availability.append((key, try rows.int(row: row, column: 2))) }
        }
        let locks = try await stack.lock.liveKeys(matching: "lock:*").map {
            // Real mode cannot tell who set a key or whether its release was tried: any key
            // still there once every answer is in counts as left held.
            LiveLock(key: $0.key, value: $0.value, setter: nil, releaseAttempted: false)
        }
        return QuiescentState(time: time, bookings: bookings, availability: availability, liveLocks: locks,
                              openTransactions: try await openTransactions(), crashed: [],
                              pendingBookings: bookings.filter { $0.status == .pending })
    }

    private func openTransactions() async throws -> [String] {
        let query = "SELECT pid, coalesce(left(query, 80), '') FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%' ORDER BY pid"
        var open: [String] = []
        for (name, pool) in [("inventory_db", stack.inventoryPool), ("booking_db", stack.bookingPool)] {
            let rows = try await pool.execute(query)
            for row in rows.rows { open.append("\(name) pid \(row[0] ?? "?"): \(row[1] ?? "")") }
        }
        return open
    }
}

/// Arrival draws for real runs: seeded, so a run's arrival pattern can be repeated.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func inRange(_ low: Int64, _ high: Int64) -> Int64 {
        guard high > low else { return low }
        return low + Int64(next() % UInt64(high - low + 1))
    }
}
