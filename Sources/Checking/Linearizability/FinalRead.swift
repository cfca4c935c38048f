import BookingCore

/// A history's operations as the search sees them once the final read is applied, with a note
/// per changed operation, or the read's first outright contradiction.
///
/// With a final read (`BookingHistory.finalBookings`) the booked set at the end must be exactly
/// the read's confirmed rows, both ways:
/// - an unknown request holding a confirmed booking is checked as booked, by the time of the
///   read; one holding none (and no pending row) is checked as having had no effect;
/// - a request whose attempts were all answered `503` with no effect must hold no row at all;
/// - a request shared by several operations (retries recorded one by one) that holds a
///   booking must be booked by one of them (`mustBook`);
/// - the read's outright contradictions (a `409` holding a booking, a `201` holding none, a
///   request booked twice, a booking that answers no request) are reported before any search.
///
/// Rows are matched to requests by request id, or by user and stay when they have none;
/// `cancelled` and `abandoned` rows are no booking.
struct FinalRead {
    var operations: [HistoryOperation]
    var notes: [String?]
    var contradiction: (explanation: String, operations: [Int], roomNights: [RoomNight])?
    /// Requests of several operations, none answered `201`, that hold a confirmed booking.
    var mustBook: Set<RequestID> = []

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

    /// Checks each request's operations against its rows, requests in order of first
    /// invocation: unknown answers are resolved as the rows say, and the first contradiction is
    /// recorded. Returns whether there was one.
    private mutating func applyAnswers(_ matched: MatchedRows, time: Int64, when: String) -> Bool {
        let order = operations.indices.sorted { (operations[$0].invokedAt, $0) < (operations[$1].invokedAt, $1) }
        var position = [Int](repeating: 0, count: operations.count)
        for (rank, index) in order.enumerated() { position[index] = rank }
        var checked: Set<RequestID> = []
        for first in order {
            let request = operations[first].request
            guard checked.insert(request).inserted else { continue }
            let indices = matched.byRequest[request]!.sorted { position[$0] < position[$1] }
            if let found = contradiction(of: request, indices, matched, when: when) {
                contradiction = found
                return true
            }
            let row = matched.rows[request]?.first
            for index in indices where operations[index].outcome == .unknown {
                if let row {
                    guard indices.count == 1 else { continue }
                    operations[index].outcome = .booked(row.id)
                    operations[index].completedAt = max(operations[index].invokedAt, time)
                    notes[index] = "booking \(row.id) holds it at \(when)"
                } else if !matched.pending.contains(request) {
                    operations[index].outcome = .noEffect
                    notes[index] = "no booking holds it at \(when)"
                }
            }
            if row != nil && indices.count > 1 && !indices.contains(where: { operations[$0].outcome.isBooked }) {
                mustBook.insert(request)
            }
        }
        return false
    }

    /// The read's outright contradiction of `request`'s answers, if any.
    private func contradiction(of request: RequestID, _ indices: [Int], _ matched: MatchedRows,
                               when: String) -> (explanation: String, operations: [Int], roomNights: [RoomNight])? {
        let row = matched.rows[request]?.first
        let pending = matched.pending.contains(request)
        let nights = operations[indices[0]].roomNights
        if row != nil || pending, indices.allSatisfy({ operations[$0].outcome == .noEffect }) {
            let holds = row.map { "booking \($0.id)" } ?? "a pending booking"
            return ("\(request) was answered 503 (nothing written), yet the booking database holds \(holds) for it at \(when).",
                    indices, nights)
        }
        if let row, indices.count == 1, operations[indices[0]].outcome == .refused {
            return ("\(request) was answered 409, yet the booking database holds booking \(row.id) for it at \(when).",
                    indices, nights)
        }
        if row == nil, !pending, let booked = indices.first(where: { operations[$0].outcome.isBooked }) {
            return ("\(request) was answered 201, yet the booking database holds no confirmed booking for it at \(when).",
                    [booked], nights)
        }
        return nil
    }
}

/// The final read's confirmed and pending rows, each matched to the one request it belongs to.
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
            // A row with a request id of no request here answers none (it was written for
            // another history, e.g. a real run's leftover), even if its user and stay match one.
            var targets = row.requestID.flatMap { byRequest[$0] } ?? []
            if row.requestID == nil, let stay = row.stay { targets = byUserStay[UserStay(user: row.userID, stay: stay)] ?? [] }
            let requests = Set(targets.map { operations[$0].request })
            return (requests.count == 1 ? requests.first : nil, targets)
        }
        for row in bookings.sorted(by: { $0.id < $1.id }) where row.status == .confirmed || row.status == .pending {
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
