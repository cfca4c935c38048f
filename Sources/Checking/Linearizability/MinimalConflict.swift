import BookingCore

// MARK: - Delta debugging

extension LinearizabilityChecker {
    /// Shrinks a failing partition to a minimal set of definite answers that still cannot be
    /// ordered, every other operation weakened to unknown (which only ever admits more orders, so
    /// failing is monotone in the set and one pass at the finest grain gives a minimal set).
    /// Local indices (into `operations`) of a minimal failing set of definite operations.
    func minimalConflict(partition: HistoryPartition, operations: [HistoryOperation], capacities: [RoomNight: Int],
                         mustBook: Set<RequestID> = []) -> [Int] {
        func fails(_ definite: [Int]) -> Bool {
            var weakened = [Bool](repeating: true, count: operations.count)
            for index in definite { weakened[index] = false }
            let model = BookingModel(operations: operations, weakened: weakened, roomNights: partition.roomNights,
                                     capacities: capacities, mustBook: mustBook)
            let search = LinearizationSearch(model: model, maxStates: maxStates)
            return search.run() == .notLinearizable
        }
        let definite = operations.indices.filter { operations[$0].outcome.isDefinite }
        var keep = definite
        // A night booked beyond its capacity is the usual culprit: start from its first
        // `capacity + 1` bookings when they fail by themselves.
        if let overbooked = Self.overbookedNight(operations: operations, capacities: capacities),
           fails(overbooked.bookings) {
            keep = overbooked.bookings
        }
        var chunk = max(1, keep.count / 2)
        while true {
            var start = 0
            while start < keep.count && keep.count > 1 {
                let trial = Array(keep[..<start] + keep[min(keep.count, start + chunk)...])
                if !trial.isEmpty && fails(trial) { keep = trial } else { start += chunk }
            }
            if chunk == 1 { break }
            chunk = max(1, chunk / 2)
        }
        return keep
    }

    /// The first room-night (in order) that more `201`s with distinct, unrepeated request ids
    /// need than it has, with the first `capacity + 1` of them (local indices).
    static func overbookedNight(operations: [HistoryOperation], capacities: [RoomNight: Int]) -> (night: RoomNight, bookings: [Int])? {
        var requestCounts: [RequestID: Int] = [:]
        for operation in operations { requestCounts[operation.request, default: 0] += 1 }
        var users: [RoomNight: [Int]] = [:]
        for (index, operation) in operations.enumerated() {
            guard case .booked = operation.outcome, requestCounts[operation.request] == 1 else { continue }
            for night in operation.roomNights { users[night, default: []].append(index) }
        }
        for night in users.keys.sorted() {
            let bookings = users[night]!
            let capacity = max(0, capacities[night] ?? 0)
            if bookings.count > capacity { return (night, Array(bookings.prefix(capacity + 1))) }
        }
        return nil
    }
}
