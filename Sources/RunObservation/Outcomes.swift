import BookingCore

/// What a client of either world keeps of a confirm's answer; `record` takes it from the
/// response, the same way in the simulator, the real load and the real story replay.
public protocol ConfirmAnswerRecord {
    var status: Int? { get set }
    var booking: Booking? { get set }
    var error: String? { get set }
    var outcomeUnknown: Bool { get set }
}

extension ConfirmAnswerRecord {
    /// The answer's status, error message, whether it says the outcome is unknown, and its
    /// booking if it carries one (a booking kept from an earlier attempt stays otherwise).
    public mutating func record(_ response: APIResponse) {
        status = response.status
        error = response.body.errorMessage
        outcomeUnknown = response.saysOutcomeUnknown
        if case .booking(let booking) = response.body { self.booking = booking }
    }
}

/// What one user saw of its confirm request, in either world: the simulator's virtual clients
/// and real mode's HTTP clients both describe their requests this way.
public struct ClientOutcome: ConfirmAnswerRecord, Hashable, Sendable {
    public var user: UserID
    public var process: ProcessID
    public var stay: Stay
    /// When the request was sent (virtual time, or real time since the run began); `nil` if the
    /// user never got to send it.
    public var sentAt: Int64?
    public var completedAt: Int64?
    /// The HTTP status; `nil` when the outcome is unknown (timeout, no answer).
    public var status: Int?
    public var booking: Booking?
    public var error: String?
    /// The answer said that whether the request took effect is unknown (`ResponseBody.outcomeUnknown`).
    public var outcomeUnknown = false
    /// How many times the client sent its request (more than 1 with client-retry).
    public var attempts: Int
    /// The confirm's request id (`nil`: the simulator's own `req-N` for the N-th user).
    public var requestID: RequestID?

    public init(user: UserID, process: ProcessID, stay: Stay, sentAt: Int64? = nil, completedAt: Int64? = nil,
                status: Int? = nil, booking: Booking? = nil, error: String? = nil, attempts: Int = 1,
                requestID: RequestID? = nil) {
        self.user = user
        self.process = process
        self.stay = stay
        self.sentAt = sentAt
        self.completedAt = completedAt
        self.status = status
        self.booking = booking
        self.error = error
        self.attempts = attempts
        self.requestID = requestID
    }

    /// Answered or explicitly unknown: the client's task ran to its end.
    public var finished: Bool { completedAt != nil }
    public var timedOut: Bool { finished && status == nil }
    public var latency: Int64? {
        guard let sentAt, let completedAt else { return nil }
        return completedAt - sentAt
    }
}

/// What the databases and Redis held when the run went quiet.
public struct QuiescentState: Sendable {
    public var time: Int64
    public var bookings: [Booking]
    public var availability: [(RoomNight, Int)]
    public var liveLocks: [LiveLock]
    public var openTransactions: [String]
    /// Processes that crashed during the run (their locks may legitimately outlive them).
    public var crashed: [ProcessID]
    /// Crash-safe sagas not yet resolved.
    public var pendingBookings: [Booking]

    public init(time: Int64, bookings: [Booking] = [], availability: [(RoomNight, Int)] = [], liveLocks: [LiveLock] = [],
                openTransactions: [String] = [], crashed: [ProcessID] = [], pendingBookings: [Booking] = []) {
        self.time = time
        self.bookings = bookings
        self.availability = availability
        self.liveLocks = liveLocks
        self.openTransactions = openTransactions
        self.crashed = crashed
        self.pendingBookings = pendingBookings
    }
}

/// A Redis key still alive at quiescence.
public struct LiveLock: Hashable, Sendable {
    public var key: String
    public var value: String
    /// Who set it, when the world can tell (the simulator can; real Redis cannot).
    public var setter: ProcessContext?
    /// Whether its holder tried to release it (the release may have been lost or timed out).
    public var releaseAttempted: Bool

    public init(key: String, value: String, setter: ProcessContext? = nil, releaseAttempted: Bool = false) {
        self.key = key
        self.value = value
        self.setter = setter
        self.releaseAttempted = releaseAttempted
    }
}

/// What one run showed, whichever world ran it: every user's outcome and the quiescent state of
/// both databases and Redis. `Checking` judges it; the simulator adds its trace beside it.
public struct RunObservation: Sendable {
    /// The seed of a simulated run, or the number of a real one.
    public var run: UInt64
    public var outcomes: [ClientOutcome]
    public var quiescent: QuiescentState
    /// Why the run did not complete (a hang, an escape from the simulator, its budget spent);
    /// `nil` when it did.
    public var incompletion: String?

    public init(run: UInt64, outcomes: [ClientOutcome], quiescent: QuiescentState, incompletion: String? = nil) {
        self.run = run
        self.outcomes = outcomes
        self.quiescent = quiescent
        self.incompletion = incompletion
    }
}
