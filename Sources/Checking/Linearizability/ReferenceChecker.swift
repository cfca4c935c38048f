import BookingCore

/// The booking specification checked the slow, obvious way: the reference `LinearizabilityChecker`
/// is tested against (`ReferenceCheckerTests`). It shares no code with the fast checker.
///
/// Every order of the operations that respects real time (an operation answered before another
/// was sent comes first), and every choice of which unknown operations took effect, is run
/// through the sequential specification: a request already booked is booked again with no
/// effect; otherwise a stay with a room left on every night books; otherwise it is refused.
/// `201` must book, `409` must be refused, a `503` read as no effect takes none, an unknown
/// answer may do anything or nothing. With a final read, the requests booked at the end must be
/// exactly those holding a confirmed row (a request holding only a pending row may be either),
/// no request may hold two, no confirmed row may answer no request, and a request whose every
/// answer was "no effect" may hold no row at all.
///
/// Exponential in the number of operations (memoized on the set placed and the state): for
/// histories of a handful of operations.
public enum ReferenceLinearizability {
    public static func isLinearizable(_ history: BookingHistory) -> Bool {
        let operations = history.operations
        precondition(operations.count <= 16, "the reference checker is for small histories")
        var requestIndex: [RequestID: Int] = [:]
        for operation in operations where requestIndex[operation.request] == nil { requestIndex[operation.request] = requestIndex.count }

        var mustHold = Set<Int>()
        var mayHold = Set<Int>()
        if let final = history.finalBookings {
            guard let (confirmed, pending) = rowsByRequest(final.bookings, operations: operations, requestIndex: requestIndex) else {
                return false
            }
            if confirmed.values.contains(where: { $0 > 1 }) { return false }
            for (request, index) in requestIndex {
                let answers = operations.filter { $0.request == request }.map(\.outcome)
                let holdsRow = confirmed[index] != nil || pending.contains(index)
                if holdsRow && answers.allSatisfy({ $0 == .noEffect }) { return false }
            }
            mustHold = Set(confirmed.keys)
            mayHold = pending.subtracting(mustHold)
        }
        var search = Search(history: history, requestIndex: requestIndex, finalRead: history.finalBookings != nil,
                            mustHold: mustHold, mayHold: mayHold)
        return search.run()
    }

    /// Confirmed rows per request index and the requests holding a pending row; `nil` when a
    /// confirmed row answers no request.
    private static func rowsByRequest(_ rows: [Booking], operations: [HistoryOperation],
                                      requestIndex: [RequestID: Int]) -> (confirmed: [Int: Int], pending: Set<Int>)? {
        var confirmed: [Int: Int] = [:]
        var pending = Set<Int>()
        for row in rows where row.status == .confirmed || row.status == .pending {
            var owners: Set<Int> = []
            if let id = row.requestID, let index = requestIndex[id] {
                owners = [index]
            } else {
                for operation in operations where operation.user == row.userID && operation.stay == row.stay {
                    owners.insert(requestIndex[operation.request]!)
                }
            }
            if owners.isEmpty {
                if row.status == .confirmed { return nil }
                continue
            }
            // A row that could be either of several requests is no evidence about any one.
            guard owners.count == 1, let owner = owners.first else { continue }
            if row.status == .confirmed { confirmed[owner, default: 0] += 1 } else { pending.insert(owner) }
        }
        return (confirmed, pending)
    }

    private struct Search {
        struct Key: Hashable {
            var placed: UInt32
            var capacities: [Int]
            var booked: UInt32
        }

        let operations: [HistoryOperation]
        let request: [Int]
        let nights: [[Int]]
        let finalRead: Bool
        let mustHold: Set<Int>
        let mayHold: Set<Int>
        let requestCount: Int
        var capacities: [Int]
        var booked: UInt32 = 0
        var placed: UInt32 = 0
        var seen = Set<Key>()

        init(history: BookingHistory, requestIndex: [RequestID: Int], finalRead: Bool, mustHold: Set<Int>, mayHold: Set<Int>) {
            operations = history.operations
            request = operations.map { requestIndex[$0.request]! }
            let roomNights = Array(Set(operations.flatMap(\.roomNights))).sorted()
            var position: [RoomNight: Int] = [:]
            for (index, night) in roomNights.enumerated() { position[night] = index }
            nights = operations.map { $0.roomNights.map { position[$0]! } }
            capacities = roomNights.map { max(0, history.capacities[$0] ?? 0) }
            self.finalRead = finalRead
            self.mustHold = mustHold
            self.mayHold = mayHold
            requestCount = requestIndex.count
            // An operation with no effect is never placed: it changes and observes nothing.
            for (index, operation) in operations.enumerated() where operation.outcome == .noEffect { placed |= 1 << UInt32(index) }
        }

        private func isPlaced(_ index: Int) -> Bool { placed & (1 << UInt32(index)) != 0 }

        /// When the client stopped waiting for a definite answer; unknown answers never end.
        private func end(_ index: Int) -> Int64 {
            let operation = operations[index]
            switch operation.outcome {
            case .booked, .refused: return max(operation.invokedAt, operation.completedAt ?? .max)
            case .unknown, .noEffect: return .max
            }
        }

        /// Every definite answer is placed, and the unknown ones left out had no effect.
        private var isAcceptedEnd: Bool {
            for index in operations.indices where !isPlaced(index) && operations[index].outcome != .unknown { return false }
            guard finalRead else { return true }
            for index in 0..<requestCount where !mayHold.contains(index) {
                if (booked & (1 << UInt32(index)) != 0) != mustHold.contains(index) { return false }
            }
            return true
        }

        mutating func run() -> Bool {
            if isAcceptedEnd { return true }
            guard seen.insert(Key(placed: placed, capacities: capacities, booked: booked)).inserted else { return false }
            for index in operations.indices where !isPlaced(index) && mayGoNext(index) {
                let saved = (capacities, booked)
                if apply(index) {
                    placed |= 1 << UInt32(index)
                    if run() { return true }
                    placed &= ~(1 << UInt32(index))
                }
                (capacities, booked) = saved
            }
            return false
        }

        /// No unplaced operation was answered before `index` was sent.
        private func mayGoNext(_ index: Int) -> Bool {
            let sent = operations[index].invokedAt
            return !operations.indices.contains { other in other != index && !isPlaced(other) && end(other) < sent }
        }

        /// Runs `index` through the specification; whether its answer matches.
        private mutating func apply(_ index: Int) -> Bool {
            let bit: UInt32 = 1 << UInt32(request[index])
            let books: Bool
            if booked & bit != 0 {
                books = true
            } else if nights[index].allSatisfy({ capacities[$0] >= 1 }) {
                for night in nights[index] { capacities[night] -= 1 }
                booked |= bit
                books = true
            } else {
                books = false
            }
            switch operations[index].outcome {
            case .booked: return books
            case .refused: return !books
            case .unknown, .noEffect: return true
            }
        }
    }
}
