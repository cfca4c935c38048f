import BookingCore

/// A history's operations as the search sees them once the final read is applied, with a note
/// per changed operation, or the read's first outright contradiction.
///
/// With a final read (`BookingHistory.finalBookings`), each unknown request holding a confirmed
/// booking is checked as booked, by the time of the read; the read's outright contradictions (a
/// `409` holding a booking, a `201` holding none, a request booked twice, a booking that answers
/// no request) are reported before any search. Rows are matched to requests by request id, else
/// by user and stay; a request shared by several operations is left as its answers say.
struct FinalRead {
    var operations: [HistoryOperation]
    var notes: [String?]
    var contradiction: (explanation: String, operations: [Int], roomNights: [RoomNight])?

    init(_ history: BookingHistory) {
        operations = history.operations
        notes = [String?](repeating: nil, count: history.operations.count)
        guard let final = history.finalBookings else { return }
        let when = HistoryText.time(final.time)
        let matched = MatchedRows(final.bookings, operations: history.operations)
        func nights(_ indices: [Int]) -> [RoomNight] { Array(Set(indices.flatMap { history.operations[$0].roomNights })).sorted() }
        func ids(_ rows: [Booking]) -> String { HistoryText.list(rows.map { String($0.id.rawValue) }) }

        for request in matched.rows.keys.sorted() where matched.rows[request]!.count > 1 {
            let indices = matched.byRequest[request]!
            contradiction = ("\(request) holds \(matched.rows[request]!.count) confirmed bookings (\(ids(matched.rows[request]!))) at \(when): "
                + "one request books once.", indices, nights(indices))
            return
        }
        if applyAnswers(matched, time: final.time, when: when) { return }
        if let row = matched.unexplained.first {
            let stay = row.stay.map { "\($0)" } ?? "room \(row.room)"
            contradiction = ("booking \(row.id) (\(row.userID), \(stay)) answers no confirm of the history.", [],
                             row.stay.map { stay in stay.nights.map { RoomNight(room: stay.room, night: $0) } } ?? [])
        }
    }

    /// Checks each operation with a request id of its own against its rows, in invocation
    /// order: an unknown one holding a booking becomes booked by the read's time; the first
    /// contradiction is recorded. Returns whether there was one.
    private mutating func applyAnswers(_ matched: MatchedRows, time: Int64, when: String) -> Bool {
        let order = operations.indices.sorted { (operations[$0].invokedAt, $0) < (operations[$1].invokedAt, $1) }
        for index in order {
            let operation = operations[index]
            guard matched.byRequest[operation.request]!.count == 1 else { continue }
            let row = matched.rows[operation.request]?.first
            switch operation.outcome {
            case .refused where row != nil:
                contradiction = ("\(operation.request) was answered 409, yet the booking database holds booking \(row!.id) "
                    + "for it at \(when).", [index], operation.roomNights)
                notes[index] = "booking \(row!.id) holds it at \(when)"
                return true
            case .booked where row == nil && !matched.pending.contains(operation.request):
                contradiction = ("\(operation.request) was answered 201, yet the booking database holds no confirmed "
                    + "booking for it at \(when).", [index], operation.roomNights)
                return true
            case .unknown where row != nil:
                operations[index].outcome = .booked(row!.id)
                operations[index].completedAt = max(operation.invokedAt, time)
                notes[index] = "booking \(row!.id) holds it at \(when)"
            default:
                break
            }
        }
        return false
    }
}

/// The final read's rows that are not cancelled, each matched to the one request it belongs to.
private struct MatchedRows {
    var byRequest: [RequestID: [Int]] = [:]
    /// Confirmed rows per request.
    var rows: [RequestID: [Booking]] = [:]
    var pending: Set<RequestID> = []
    /// Rows that match no operation at all.
    var unexplained: [Booking] = []

    init(_ bookings: [Booking], operations: [HistoryOperation]) {
        struct UserStay: Hashable { var user: UserID; var stay: Stay }
        var byUserStay: [UserStay: [Int]] = [:]
        for (index, operation) in operations.enumerated() {
            byRequest[operation.request, default: []].append(index)
            byUserStay[UserStay(user: operation.user, stay: operation.stay), default: []].append(index)
        }
        /// The one request a row belongs to; `nil` and no operations when it answers none,
        /// `nil` with operations when it could be several users' requests.
        func owner(_ row: Booking) -> (request: RequestID?, operations: [Int]) {
            var targets = row.requestID.flatMap { byRequest[$0] } ?? []
            if targets.isEmpty, let stay = row.stay { targets = byUserStay[UserStay(user: row.userID, stay: stay)] ?? [] }
            let requests = Set(targets.map { operations[$0].request })
            return (requests.count == 1 ? requests.first : nil, targets)
        }
        for row in bookings.sorted(by: { $0.id < $1.id }) where row.status != .cancelled {
            let (request, targets) = owner(row)
            if row.status == .pending {
                if let request { pending.insert(request) }
            } else if let request {
                rows[request, default: []].append(row)
            } else if targets.isEmpty {
                unexplained.append(row)
            }
        }
    }
}
