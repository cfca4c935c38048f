import BookingCore
import RunObservation
import Simulation

/// What a client learnt from one confirm, in the terms of the booking service's specification.
public enum ConfirmOutcome: Hashable, Sendable {
    /// `201`: the stay was booked (with the booking's id when the answer carried it).
    case booked(BookingID?)
    /// `409`: no room for some night of the stay at the request's linearization point.
    case refused
    /// Timeout, lost reply, crash, `5xx`, or no answer at all: the request may or may not have
    /// taken effect, then or later (Jepsen's `:info`).
    case unknown
    /// A `503` from a service whose `503` means nothing was written for the request, then or
    /// later (`UnavailableMeaning.noEffect`; Jepsen's `:fail`).
    case noEffect

    public var isDefinite: Bool { self != .unknown }

    public var isBooked: Bool { if case .booked = self { true } else { false } }
}

/// One confirm as the client saw it: when it was sent, when (if ever) the client stopped
/// waiting, and what it was told.
public struct HistoryOperation: Hashable, Sendable, CustomStringConvertible {
    public var user: UserID
    /// The client process that sent it, when known.
    public var process: ProcessID?
    /// One request end to end; a client's retries of it keep the same id.
    public var request: RequestID
    public var stay: Stay
    /// Nanoseconds (virtual or real time since the run began).
    public var invokedAt: Int64
    /// When the client got its answer or gave up; `nil` if it never did (it crashed, or the run
    /// ended first).
    public var completedAt: Int64?
    public var outcome: ConfirmOutcome
    /// The HTTP status observed, for reports (`nil`: no answer).
    public var status: Int?

    public init(user: UserID, process: ProcessID? = nil, request: RequestID, stay: Stay, invokedAt: Int64,
                completedAt: Int64?, outcome: ConfirmOutcome, status: Int? = nil) {
        self.user = user
        self.process = process
        self.request = request
        self.stay = stay
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.outcome = outcome
        self.status = status ?? {
            switch outcome {
            case .booked: StatusCode.created
            case .refused: StatusCode.conflict
            case .noEffect: StatusCode.serviceUnavailable
            case .unknown: nil
            }
        }()
    }

    public var roomNights: [RoomNight] { stay.nights.map { RoomNight(room: stay.room, night: $0) } }

    public var description: String {
        "\(request) (\(user), \(stay)): \(HistoryText.describe(outcome: outcome, status: status)), sent at \(HistoryText.time(invokedAt))"
            + (completedAt.map { (status == nil ? ", gave up at " : ", answered at ") + HistoryText.time($0) } ?? ", never answered")
    }
}

/// The booking database read once the run went quiet: the final read Jepsen's tests end with.
///
/// It turns what the clients could not see into observations. A request whose client got no
/// answer but which holds a confirmed booking did take effect, before `time`; a client told
/// `409` whose request holds one, a `201` with none, a request booked twice, or a booking no
/// request explains, each contradict the specification outright. Without it, a double booking
/// whose two clients both timed out is invisible in the answers alone.
public struct FinalBookings: Hashable, Sendable {
    /// When it was read (virtual or real nanoseconds, after every operation's effect).
    public var time: Int64
    /// Every row of `bookings`; only `confirmed` ones count as booked, a `pending` one leaves its
    /// request's outcome open, a `cancelled` one is no booking.
    public var bookings: [Booking]

    public init(time: Int64, bookings: [Booking]) {
        self.time = time
        self.bookings = bookings
    }
}

/// A recorded run of confirms plus the capacity each room-night started with: the input of the
/// linearizability check (`LinearizabilityChecker`).
public struct BookingHistory: Hashable, Sendable {
    public var operations: [HistoryOperation]
    /// The initial `available_quantity` per room-night; a room-night missing here has none.
    public var capacities: [RoomNight: Int]
    /// The booking database at the end, when it was read.
    public var finalBookings: FinalBookings?

    public init(operations: [HistoryOperation], capacities: [RoomNight: Int], finalBookings: FinalBookings? = nil) {
        self.operations = operations
        self.capacities = capacities
        self.finalBookings = finalBookings
    }

    /// A history from what the simulated (or real) clients saw, one operation per client.
    ///
    /// - A client that never sent its request (`sentAt == nil`) invoked nothing and is left out.
    /// - Request ids are the outcome's, or `req-N` for the N-th (the simulator's own naming); a client's
    ///   retries are inside its one outcome, so they share that id.
    /// - `201` is `.booked`, `409` is `.refused`, anything else (a `5xx`, `404`, or no status at
    ///   all after a timeout) is `.unknown`: see `outcome(status:error:)`.
    /// - `unavailable`: how a `503` reads (`UnavailableMeaning`).
    public init(outcomes: [ClientOutcome], capacities: [RoomNight: Int], unavailable: UnavailableMeaning = .unknown) {
        var operations: [HistoryOperation] = []
        operations.reserveCapacity(outcomes.count)
        for (index, client) in outcomes.enumerated() {
            guard let sentAt = client.sentAt else { continue }
            var outcome = Self.outcome(status: client.status, error: client.error, outcomeUnknown: client.outcomeUnknown, unavailable: unavailable)
            if case .booked = outcome { outcome = .booked(client.booking?.id) }
            operations.append(HistoryOperation(
                user: client.user, process: client.process, request: client.requestID ?? RequestID("req-\(index + 1)"), stay: client.stay,
                invokedAt: sentAt, completedAt: client.completedAt, outcome: outcome, status: client.status))
        }
        self.init(operations: operations, capacities: capacities)
    }

    /// The history of one simulated (or `overbook real`) run of `scenario`: the clients' answers,
    /// a `503` read as the scenario says (`Scenario.unavailableMeaning`), and, as a final read,
    /// the booking database at quiescence (`finalRead: false` leaves it out and checks the
    /// answers alone).
    public init(observation: RunObservation, scenario: Scenario, finalRead: Bool = true) {
        self.init(outcomes: observation.outcomes, capacities: Self.capacities(for: scenario), unavailable: scenario.unavailableMeaning)
        if finalRead {
            finalBookings = FinalBookings(time: observation.quiescent.time, bookings: observation.quiescent.bookings)
        }
    }

    /// Every room of the scenario for every inventory night, at the room's capacity: what
    /// `ScenarioSimulation.run` seeds the inventory database with.
    public static func capacities(for scenario: Scenario) -> [RoomNight: Int] {
        var capacities: [RoomNight: Int] = [:]
        for room in scenario.rooms {
            for night in scenario.inventoryNights {
                capacities[RoomNight(room: room.id, night: night)] = room.capacity
            }
        }
        return capacities
    }

    /// How an HTTP answer maps onto the specification.
    ///
    /// `201` and `409` are definite; so is `503` where the service claims it means no effect
    /// (`unavailable: .noEffect`, the fixed variants that key writes on the request id), which
    /// is then checked: a `503` whose request holds a booking contradicts it. Read as the seed
    /// answers it (`.unknown`, the default), every `503` is `.unknown`, the lock give-up included
    /// (`Could not acquire lock, please retry`), for three reasons:
    /// - the status alone does not say which `503` it was, and most of the others come after
    ///   writes (`inventory service: timeout` after the inventory may have reserved; a pending
    ///   saga that its recovery worker confirms later), so they may have taken effect;
    /// - even the give-up claims nothing about capacity (it never looked), so reading it as a
    ///   `409` would reject correct histories in which it finished while the room was still free;
    /// - `.unknown` costs nothing for a request that truly had no effect: the checker may always
    ///   linearize it last, where it changes nothing. What it gives up is only the power to
    ///   notice a `503` that secretly booked; the bookings-versus-answers invariants see that.
    ///
    /// A `409` is a refusal except the fenced variant's `stale lock` answer, which says the
    /// request lost its lock, not that the room was full, and so is `.unknown` too; so is a
    /// `503` that says its outcome is unknown (`outcomeUnknown`), whatever `unavailable` says.
    public static func outcome(status: Int?, error: String?, outcomeUnknown: Bool = false,
                               unavailable: UnavailableMeaning = .unknown) -> ConfirmOutcome {
        switch status {
        case StatusCode.created: return .booked(nil)
        case StatusCode.conflict: return EarlyAnswer.isStaleLock(message: error) ? .unknown : .refused
        case StatusCode.serviceUnavailable where unavailable == .noEffect && !outcomeUnknown: return .noEffect
        default: return .unknown
        }
    }
}

/// Formatting shared by the history types and the checker's explanations.
enum HistoryText {
    /// Nanoseconds exact to the microsecond, in milliseconds below a second (`12 ms`,
    /// `12.345 ms`) and in seconds above (`30.025939 s`).
    static func time(_ nanoseconds: Int64) -> String {
        let micros = nanoseconds / 1_000
        let (unit, scale, places): (String, Int64, Int) = abs(micros) < 1_000_000 ? ("ms", 1_000, 3) : ("s", 1_000_000, 6)
        let whole = micros / scale
        let fraction = Int(abs(micros % scale))
        if fraction == 0 { return "\(whole) \(unit)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: places - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(micros < 0 && whole == 0 ? "-" : "")\(whole).\(digits) \(unit)"
    }

    static func describe(outcome: ConfirmOutcome, status: Int?) -> String {
        switch outcome {
        case .booked(let id): return "201 booked" + (id.map { " (booking \($0))" } ?? "")
        case .refused: return "409 refused"
        case .noEffect: return "503 (no effect)"
        case .unknown: return "unknown (" + (status.map { "status \($0)" } ?? "no answer") + ")"
        }
    }
}

extension NonLinearizableHistory {
    /// The counterexample as a violation carries it: the sentence, and the requests, users and
    /// oversold room-night it is about. `history`: the history it was found in.
    public func finding(in history: BookingHistory) -> NonLinearizableFinding {
        var users: [UserID] = []
        for operation in conflict where !users.contains(operation.user) { users.append(operation.user) }
        let resolved = FinalRead(history).operations
        return NonLinearizableFinding(explanation: explanation, requests: conflict.map(\.request), users: users,
                                      overbookedNight: Self.overbookedNight(conflictIndices.map { resolved[$0] },
                                                                            capacities: history.capacities))
    }

    /// The night every one of `conflict` booked (once the final read is applied), beyond its
    /// capacity; `nil` when that is not the conflict.
    static func overbookedNight(_ conflict: [HistoryOperation], capacities: [RoomNight: Int]) -> RoomNight? {
        guard let first = conflict.first, conflict.allSatisfy(\.outcome.isBooked) else {
            return nil
        }
        return first.roomNights.first { night in
            conflict.allSatisfy { $0.roomNights.contains(night) } && (capacities[night] ?? 0) < conflict.count
        }
    }
}
