import BookingCore

// Public constructors for the run's result types, so that real mode (`overbook real`) can
// describe what the real servers did in the same terms and hand it to the same checks and
// summary as a simulated run. Static functions, because a public `init` with the memberwise
// signature would collide with the synthesized (internal) one the simulator uses.

extension ClientOutcome {
    public static func observed(user: UserID, process: ProcessID, stay: Stay, sentAt: Int64?, completedAt: Int64?, status: Int?,
                                booking: Booking?, error: String?, attempts: Int = 1, requestID: RequestID? = nil) -> ClientOutcome {
        ClientOutcome(user: user, process: process, stay: stay, sentAt: sentAt, completedAt: completedAt, status: status,
                      booking: booking, error: error, attempts: attempts, requestID: requestID)
    }
}

extension QuiescentState {
    public static func observed(time: Int64, bookings: [Booking], availability: [(RoomNight, Int)], liveLocks: [LiveLock],
                                openTransactions: [String], crashed: [ProcessID], pendingBookings: [Booking]) -> QuiescentState {
        QuiescentState(time: time, bookings: bookings, availability: availability, liveLocks: liveLocks,
                       openTransactions: openTransactions, crashed: crashed, pendingBookings: pendingBookings)
    }
}

extension LiveLock {
    public static func observed(key: String, value: String, setter: ProcessContext?, releaseAttempted: Bool) -> LiveLock {
        LiveLock(key: key, value: value, setter: setter, releaseAttempted: releaseAttempted)
    }
}

extension SimulationOutput {
    /// A run that did not come from the simulator: no trace, no schedule, no coverage marks.
    public init(seed: UInt64, outcomes: [ClientOutcome], failure: SimulationFailure?, quiescent: QuiescentState) {
        self.init(seed: seed, outcomes: outcomes, failure: failure, quiescent: quiescent, traceHash: 0, traceCount: 0,
                  steps: 0, events: [], choices: [], coverage: Coverage(), activeFaults: [])
    }
}
