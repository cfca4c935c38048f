import BookingCore

// Union-find over room-nights joins the nights of each stay, and the stays of operations sharing
// a request id: every part can then be checked alone, and a search's cost grows with the largest
// part, not with the history.
extension BookingHistory {
    /// The independent parts of this history (P-compositionality): operations whose stays share
    /// a room-night, directly or through others, or that share a request id, fall in one part.
    /// Parts are ordered by their first room-night; operations within one by invocation time,
    /// then by their position in `operations`.
    public func partitions() -> [HistoryPartition] {
        let nights = Array(Set(operations.flatMap(\.roomNights))).sorted()
        var position: [RoomNight: Int] = [:]
        for (index, night) in nights.enumerated() { position[night] = index }
        var parent = Array(nights.indices)
        func find(_ x: Int) -> Int {
            var root = x
            while parent[root] != root { root = parent[root] }
            var node = x
            while parent[node] != root { (node, parent[node]) = (parent[node], root) }
            return root
        }
        func union(_ a: Int, _ b: Int) {
            let (ra, rb) = (find(a), find(b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        var firstNightOfRequest: [RequestID: Int] = [:]
        for operation in operations {
            let indices = operation.roomNights.map { position[$0]! }
            for index in indices.dropFirst() { union(indices[0], index) }
            if let other = firstNightOfRequest[operation.request] {
                union(other, indices[0])
            } else {
                firstNightOfRequest[operation.request] = indices[0]
            }
        }
        // Roots are the smallest night index of each part, so sorting by root orders the parts.
        var members: [Int: [Int]] = [:]
        for (index, operation) in operations.enumerated() {
            members[find(position[operation.roomNights[0]]!), default: []].append(index)
        }
        var nightsOf: [Int: [RoomNight]] = [:]
        for (index, night) in nights.enumerated() { nightsOf[find(index), default: []].append(night) }
        return members.keys.sorted().map { root in
            let indices = members[root]!.sorted {
                (operations[$0].invokedAt, $0) < (operations[$1].invokedAt, $1)
            }
            return HistoryPartition(roomNights: nightsOf[root]!, operationIndices: indices)
        }
    }
}
