import BookingCore
import Simulation

/// The properties every run must keep, whatever the faults.
public enum Invariant: String, CaseIterable, Hashable, Sendable, Codable, Comparable {
    /// Confirmed bookings per room-night never exceed the room's capacity.
    case capacity = "bookings-within-capacity"
    /// No user holds two bookings from one request (each simulated user sends one confirm).
    case noDuplicateBooking = "no-duplicate-booking"
    /// At quiescence, for every room-night: capacity - available = confirmed bookings, across the
    /// two databases; and no night is oversold in the inventory.
    case inventoryConsistent = "inventory-matches-bookings"
    /// Every request got an answer or was recorded as unknown (timed out).
    case everyRequestAnswered = "every-request-answered"
    /// No lock is left held at quiescence by a process that is still alive.
    case noLockLeftHeld = "no-lock-left-held"
    /// p95 latency (virtual time) under the scenario's SLO.
    case latencyP95 = "slo-p95"
    /// Mean latency (virtual time) under the scenario's SLO.
    case latencyMean = "slo-mean"
    /// The run itself completed: no hang, no escape from the simulator, within budget.
    case runCompleted = "run-completed"
    /// The clients' answers (and the bookings left at the end) are explained by some sequential
    /// order of the confirms against the booking service's specification (Knossos/Porcupine
    /// style, unknown outcomes either way).
    case linearizable = "history-linearizable"

    public static func < (a: Invariant, b: Invariant) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var title: String {
        switch self {
        case .capacity: "bookings per room-night <= capacity"
        case .noDuplicateBooking: "no duplicate booking per user"
        case .inventoryConsistent: "inventory = capacity - confirmed bookings"
        case .everyRequestAnswered: "every request answered or recorded unknown"
        case .noLockLeftHeld: "no lock left held at quiescence"
        case .latencyP95: "p95 latency under the SLO"
        case .latencyMean: "mean latency under the SLO"
        case .runCompleted: "run completed (no hang, no escape)"
        case .linearizable: "answers explained by a sequential order (linearizable)"
        }
    }
}

/// Safety invariants: what searches, the matrix and shrinking look for (latency objectives are
/// not safety: faults make requests slow by design).
public let safetyInvariants: Set<Invariant> = Set(Invariant.allCases.filter { $0 != .latencyP95 && $0 != .latencyMean })

public struct Violation: Hashable, Sendable, CustomStringConvertible {
    public var invariant: Invariant
    /// Virtual time it was seen at.
    public var time: Int64
    public var message: String
    public init(invariant: Invariant, time: Int64, message: String) {
        self.invariant = invariant
        self.time = time
        self.message = message
    }
    public var description: String { "[\(invariant.rawValue)] at \(formatVirtualTime(time)): \(message)" }
}

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
                record(Violation(invariant: .inventoryConsistent, time: world.now,
                                 message: "inventory oversold: \(key) has available_quantity \(quantity)"), key: "oversold \(key)")
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
            let who = holders.map { "booking \($0.id) (\($0.userID))" }.joined(separator: ", ")
            return Violation(invariant: .capacity, time: time,
                             message: "double booking: \(key) has \(holders.count) confirmed bookings for capacity \(capacity): \(who)")
        }
    }
}

/// Checks at quiescence, from what the clients saw and what the databases and Redis hold.
public enum QuiescenceChecks {
    public static func violations(scenario: Scenario, output: SimulationOutput, latency: LatencyStatistics) -> [Violation] {
        let state = output.quiescent
        let time = state.time
        var violations: [Violation] = []
        if let failure = output.failure {
            violations.append(Violation(invariant: .runCompleted, time: time, message: failure.description))
        }
        var capacities: [RoomID: Int] = [:]
        for room in scenario.rooms { capacities[room.id] = room.capacity }
        violations += InvariantMonitor.capacityViolations(state.bookings, capacities: capacities, time: time)

        var perUser: [UserID: [Booking]] = [:]
        for booking in state.bookings where booking.status == .confirmed { perUser[booking.userID, default: []].append(booking) }
        for user in perUser.keys.sorted() where perUser[user]!.count > 1 {
            let ids = perUser[user]!.map { String($0.id.rawValue) }.joined(separator: ", ")
            violations.append(Violation(invariant: .noDuplicateBooking, time: time,
                                        message: "\(user) holds \(perUser[user]!.count) bookings (ids \(ids)) from one request"))
        }

        var booked: [RoomNight: Int] = [:]
        for booking in state.bookings where booking.status == .confirmed {
            for night in booking.stay?.nights ?? [] { booked[RoomNight(room: booking.room, night: night), default: 0] += 1 }
        }
        for (key, available) in state.availability {
            let capacity = capacities[key.room] ?? 0
            let taken = capacity - available
            let count = booked[key] ?? 0
            if taken != count {
                violations.append(Violation(invariant: .inventoryConsistent, time: time,
                                            message: "\(key): inventory shows \(taken) taken (available \(available) of \(capacity)) but booking_db has \(count) confirmed"))
            }
        }
        let inventoryKeys = Set(state.availability.map(\.0))
        for key in booked.keys.sorted() where !inventoryKeys.contains(key) {
            violations.append(Violation(invariant: .inventoryConsistent, time: time,
                                        message: "\(key): \(booked[key]!) confirmed bookings but no availability row"))
        }

        for outcome in output.outcomes where !outcome.finished {
            violations.append(Violation(invariant: .everyRequestAnswered, time: time,
                                        message: "\(outcome.user) (\(outcome.process)) neither got an answer nor timed out"))
        }

        // A crashed holder's lock is left to expire, and so is one whose release was sent but
        // lost; a live holder that never tried to release it leaked it.
        let crashed = Set(state.crashed)
        for lock in state.liveLocks where !lock.releaseAttempted && !(lock.setter.map { crashed.contains($0.id) } ?? false) {
            guard lock.key.hasPrefix("lock:") else { continue }
            let who = lock.setter.map { "\($0)" } ?? "unknown"
            violations.append(Violation(invariant: .noLockLeftHeld, time: time,
                                        message: "\(lock.key) still held (token \(lock.value), set by \(who), never released)"))
        }

        // Over its state budget the checker cannot say; that is not a violation.
        let history = LinearizabilityChecker().check(BookingHistory(output: output, scenario: scenario))
        if let counterexample = history.counterexample {
            violations.append(Violation(invariant: .linearizable, time: time, message: counterexample.explanation))
        }

        if latency.count > 0 {
            if latency.p95 >= scenario.slo.p95.nanoseconds {
                violations.append(Violation(invariant: .latencyP95, time: time,
                                            message: "p95 \(formatSeconds(latency.p95)) is not under \(formatSeconds(scenario.slo.p95.nanoseconds))"))
            }
            if latency.mean >= scenario.slo.mean.nanoseconds {
                violations.append(Violation(invariant: .latencyMean, time: time,
                                            message: "mean \(formatSeconds(latency.mean)) is not under \(formatSeconds(scenario.slo.mean.nanoseconds))"))
            }
        }
        return violations
    }
}

/// `1.234s` with millisecond precision, as the seed's client prints.
public func formatSeconds(_ nanoseconds: Int64) -> String {
    let millis = (nanoseconds + (nanoseconds >= 0 ? 500_000 : -500_000)) / 1_000_000
    let fraction = String(abs(millis) % 1000)
    return (millis < 0 ? "-" : "") + "\(abs(millis) / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + "s"
}
