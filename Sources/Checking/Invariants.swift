import BookingCore
import RunObservation
import Simulation

/// Checks the database invariants as the run goes: after every commit. Sees only committed
/// state, as any reader of the databases would.
public final class InvariantMonitor: RunObserver {
    let capacities: [RoomID: Int]
    public private(set) var violations: [Violation] = []
    private var reported: Set<String> = []

    public init(scenario: Scenario) {
        var capacities: [RoomID: Int] = [:]
        for room in scenario.rooms { capacities[room.id] = room.capacity }
        self.capacities = capacities
    }

    public func committed(in database: SimPostgresServer, world: SimWorld) {
        if database === world.bookingDatabase {
            for violation in Self.capacityViolations(database.model.bookings(), capacities: capacities, time: world.now) {
                record(violation, key: "capacity \(violation.message)")
            }
        } else {
            for (key, quantity) in database.model.committedAvailability where quantity < 0 {
                record(Violation(at: world.now, .oversold(key, available: quantity)), key: "oversold \(key)")
            }
        }
    }

    private func record(_ violation: Violation, key: String) {
        guard reported.insert(key).inserted else { return }
        violations.append(violation)
    }

    static func capacityViolations(_ bookings: [Booking], capacities: [RoomID: Int], time: Int64) -> [Violation] {
        var perNight: [RoomNight: [Booking]] = [:]
        for booking in bookings where booking.status == .confirmed {
            for night in booking.stay?.nights ?? [] {
                perNight[RoomNight(room: booking.room, night: night), default: []].append(booking)
            }
        }
        return perNight.keys.sorted().compactMap { key in
            let holders = perNight[key]!
            let capacity = capacities[key.room] ?? 0
            guard holders.count > capacity else { return nil }
            return Violation(at: time, .overbooked(key, capacity: capacity,
                                                   holders: holders.map { BookingHolder(booking: $0.id, user: $0.userID) }))
        }
    }
}

/// Checks at quiescence, from what the clients saw and what the databases and Redis hold.
public enum QuiescenceChecks {
    public static func violations(scenario: Scenario, observation: RunObservation, latency: LatencyStatistics) -> [Violation] {
        let state = observation.quiescent
        let time = state.time
        var violations: [Violation] = []
        if let incompletion = observation.incompletion {
            violations.append(Violation(at: time, .incomplete(incompletion)))
        }
        var capacities: [RoomID: Int] = [:]
        for room in scenario.rooms { capacities[room.id] = room.capacity }
        violations += InvariantMonitor.capacityViolations(state.bookings, capacities: capacities, time: time)

        var perUser: [UserID: [Booking]] = [:]
        for booking in state.bookings where booking.status == .confirmed { perUser[booking.userID, default: []].append(booking) }
        for user in perUser.keys.sorted() where perUser[user]!.count > 1 {
            violations.append(Violation(at: time, .duplicateBookings(user, bookings: perUser[user]!.map(\.id))))
        }

        var booked: [RoomNight: Int] = [:]
        for booking in state.bookings where booking.status == .confirmed {
            for night in booking.stay?.nights ?? [] { booked[RoomNight(room: booking.room, night: night), default: 0] += 1 }
        }
        for (key, available) in state.availability {
            let capacity = capacities[key.room] ?? 0
            let count = booked[key] ?? 0
            if capacity - available != count {
                violations.append(Violation(at: time, .inventoryMismatch(key, available: available, capacity: capacity, confirmed: count)))
            }
        }
        let inventoryKeys = Set(state.availability.map(\.0))
        for key in booked.keys.sorted() where !inventoryKeys.contains(key) {
            violations.append(Violation(at: time, .missingAvailabilityRow(key, confirmed: booked[key]!)))
        }

        for outcome in observation.outcomes where !outcome.finished {
            violations.append(Violation(at: time, .unanswered(outcome.user, outcome.process)))
        }

        // A crashed holder's lock is left to expire, and so is one whose release was sent but
        // lost; a live holder that never tried to release it leaked it.
        let crashed = Set(state.crashed)
        for lock in state.liveLocks where !lock.releaseAttempted && !(lock.setter.map { crashed.contains($0.id) } ?? false) {
            guard lock.key.hasPrefix("lock:") else { continue }
            violations.append(Violation(at: time, .lockLeftHeld(key: lock.key, token: lock.value, setter: lock.setter)))
        }

        // Over its state budget the checker cannot say; that is not a violation.
        let history = BookingHistory(observation: observation, scenario: scenario)
        if let counterexample = LinearizabilityChecker().check(history).counterexample {
            violations.append(Violation(at: time, .notLinearizable(counterexample.finding(in: history))))
        }

        if latency.count > 0 {
            if latency.p95 >= scenario.slo.p95.nanoseconds {
                violations.append(Violation(at: time, .latencyP95(latency.p95, limit: scenario.slo.p95.nanoseconds)))
            }
            if latency.mean >= scenario.slo.mean.nanoseconds {
                violations.append(Violation(at: time, .latencyMean(latency.mean, limit: scenario.slo.mean.nanoseconds)))
            }
        }
        return violations
    }
}
