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

    /// Every invariant's name, comma-separated: the choices a help text or an error lists.
    public static let names = allCases.map(\.rawValue).joined(separator: ", ")

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

extension Invariant {
    /// What is wrong with a comma-separated list of invariant names given to `option`: its
    /// first unknown name, in the option's words; `nil` if every name is an invariant.
    public static func problem(list names: String?, option: String) -> String? {
        guard let unknown = names?.split(separator: ",").first(where: { Invariant(rawValue: String($0)) == nil }) else { return nil }
        return "\(option): unknown invariant '\(unknown)'; use: \(Invariant.names)"
    }

    /// The invariants a comma-separated list of names names (unknown names left out).
    public static func set(list names: String?) -> Set<Invariant> {
        Set(names?.split(separator: ",").compactMap { Invariant(rawValue: String($0)) } ?? [])
    }
}
