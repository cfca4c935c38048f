import BookingCore

/// A broken invariant, as facts: what was seen, where (room-night), whom it involves (users,
/// requests, bookings) and when. The sentence a person reads is rendered from these fields, so
/// no reader ever has to parse it back.
public struct Violation: Hashable, Sendable, CustomStringConvertible, Codable {
    /// When it was seen (virtual time, or real time since the run began).
    public var time: Int64
    public var finding: Finding

    public init(at time: Int64, _ finding: Finding) {
        self.time = time
        self.finding = finding
    }

    public var invariant: Invariant { finding.invariant }
    /// The room-night it is about, when it is about one.
    public var roomNight: RoomNight? { finding.roomNight }
    /// The users it involves, in the order the sentence names them.
    public var users: [UserID] { finding.users }
    public var requests: [RequestID] { finding.requests }
    public var bookings: [BookingID] { finding.bookings }
    public var message: String { finding.sentence }
    public var description: String { "[\(invariant.rawValue)] at \(formatVirtualTime(time)): \(message)" }
}

/// A confirmed booking and the user who holds it.
public struct BookingHolder: Hashable, Sendable, Codable {
    public var booking: BookingID
    public var user: UserID
    public init(booking: BookingID, user: UserID) {
        self.booking = booking
        self.user = user
    }
}

/// What exactly was seen to break an invariant.
public enum Finding: Hashable, Sendable, Codable {
    /// An inventory row went below zero.
    case oversold(RoomNight, available: Int)
    /// More confirmed bookings for a room-night than its capacity.
    case overbooked(RoomNight, capacity: Int, holders: [BookingHolder])
    /// One user holds several confirmed bookings from one request.
    case duplicateBookings(UserID, bookings: [BookingID])
    /// The inventory's count and booking_db's confirmed bookings disagree.
    case inventoryMismatch(RoomNight, available: Int, capacity: Int, confirmed: Int)
    /// Confirmed bookings for a night the inventory has no row for.
    case missingAvailabilityRow(RoomNight, confirmed: Int)
    /// A client neither got an answer nor gave up.
    case unanswered(UserID, ProcessID)
    /// A lock key still alive at quiescence whose holder never tried to release it.
    case lockLeftHeld(key: String, token: String, setter: ProcessContext?)
    /// No sequential order of the confirms explains the answers (the checker's own sentence, and
    /// the requests of its minimal conflict).
    case notLinearizable(NonLinearizableFinding)
    case latencyP95(Int64, limit: Int64)
    case latencyMean(Int64, limit: Int64)
    /// The run did not complete: why, in the world's words (a hang, an escape, a budget spent).
    case incomplete(String)
    /// A real service process exited during the run.
    case serviceDied(String)

    public var invariant: Invariant {
        switch self {
        case .oversold, .inventoryMismatch, .missingAvailabilityRow: .inventoryConsistent
        case .overbooked: .capacity
        case .duplicateBookings: .noDuplicateBooking
        case .unanswered: .everyRequestAnswered
        case .lockLeftHeld: .noLockLeftHeld
        case .notLinearizable: .linearizable
        case .latencyP95: .latencyP95
        case .latencyMean: .latencyMean
        case .incomplete, .serviceDied: .runCompleted
        }
    }

    public var roomNight: RoomNight? {
        switch self {
        case .oversold(let key, _), .overbooked(let key, _, _), .inventoryMismatch(let key, _, _, _),
             .missingAvailabilityRow(let key, _):
            key
        case .notLinearizable(let finding): finding.overbookedNight
        default: nil
        }
    }

    public var users: [UserID] {
        switch self {
        case .overbooked(_, _, let holders):
            var users: [UserID] = []
            for holder in holders where !users.contains(holder.user) { users.append(holder.user) }
            return users
        case .duplicateBookings(let user, _), .unanswered(let user, _): return [user]
        case .notLinearizable(let finding): return finding.users
        default: return []
        }
    }

    public var requests: [RequestID] {
        if case .notLinearizable(let finding) = self { return finding.requests }
        return []
    }

    public var bookings: [BookingID] {
        switch self {
        case .overbooked(_, _, let holders): holders.map(\.booking)
        case .duplicateBookings(_, let bookings): bookings
        default: []
        }
    }

    public var sentence: String {
        switch self {
        case .oversold(let key, let available):
            return "inventory oversold: \(key) has available_quantity \(available)"
        case .overbooked(let key, let capacity, let holders):
            let who = holders.map { "booking \($0.booking) (\($0.user))" }.joined(separator: ", ")
            return "double booking: \(key) has \(holders.count) confirmed bookings for capacity \(capacity): \(who)"
        case .duplicateBookings(let user, let bookings):
            let ids = bookings.map { String($0.rawValue) }.joined(separator: ", ")
            return "\(user) holds \(bookings.count) bookings (ids \(ids)) from one request"
        case .inventoryMismatch(let key, let available, let capacity, let confirmed):
            return "\(key): inventory shows \(capacity - available) taken (available \(available) of \(capacity)) but booking_db has \(confirmed) confirmed"
        case .missingAvailabilityRow(let key, let confirmed):
            return "\(key): \(confirmed) confirmed bookings but no availability row"
        case .unanswered(let user, let process):
            return "\(user) (\(process)) neither got an answer nor timed out"
        case .lockLeftHeld(let key, let token, let setter):
            return "\(key) still held (token \(token), set by \(setter.map { "\($0)" } ?? "unknown"), never released)"
        case .notLinearizable(let finding):
            return finding.explanation
        case .latencyP95(let p95, let limit):
            return "p95 \(formatSeconds(p95)) is not under \(formatSeconds(limit))"
        case .latencyMean(let mean, let limit):
            return "mean \(formatSeconds(mean)) is not under \(formatSeconds(limit))"
        case .incomplete(let why):
            return why
        case .serviceDied(let what):
            return "a service died during the run: \(what)"
        }
    }
}

/// The history checker's counterexample, as a violation carries it.
public struct NonLinearizableFinding: Hashable, Sendable, Codable {
    /// The checker's sentence: which answers no order of the confirms explains, and why.
    public var explanation: String
    /// The requests of the minimal conflict, in the order the sentence names them.
    public var requests: [RequestID]
    /// Their users, each once, in the same order.
    public var users: [UserID]
    /// The room-night the conflicting 201s oversell, when that is the conflict.
    public var overbookedNight: RoomNight?

    public init(explanation: String, requests: [RequestID], users: [UserID], overbookedNight: RoomNight?) {
        self.explanation = explanation
        self.requests = requests
        self.users = users
        self.overbookedNight = overbookedNight
    }
}
