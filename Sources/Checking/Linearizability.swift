import BookingCore

// MARK: - Results

/// Whether a `BookingHistory` can be explained by some sequential order of its confirms.
public enum LinearizabilityVerdict: Hashable, Sendable {
    case linearizable
    case notLinearizable(NonLinearizableHistory)
    /// The search ran out of its budget (`LinearizabilityChecker.maxStates`) before deciding.
    case unknown(reason: String)
}

/// Room-nights that no operation outside them touches, and the operations on them: a part of
/// the history that can be checked on its own.
public struct HistoryPartition: Hashable, Sendable, CustomStringConvertible {
    public var roomNights: [RoomNight]
    /// Indices into `BookingHistory.operations`, in the order the checker orders them.
    public var operationIndices: [Int]

    public var description: String {
        "\(HistoryText.roomNights(roomNights)) (\(operationIndices.count) confirm\(operationIndices.count == 1 ? "" : "s"))"
    }
}

/// Why a history is not linearizable: the smallest set of answers that no order explains.
public struct NonLinearizableHistory: Hashable, Sendable, CustomStringConvertible {
    /// One sentence, e.g. `req-3 and req-7 were both answered 201 for room 1 night 2026-03-15,
    /// which has capacity 1: no order of the 50 confirms explains both.`
    public var explanation: String
    /// A minimal set of definite answers (`201`/`409`) that cannot all be true: with every other
    /// operation of the partition weakened to "unknown", they still admit no order, and dropping
    /// any one of them admits one.
    public var conflict: [HistoryOperation]
    /// Indices of `conflict` in `BookingHistory.operations`.
    public var conflictIndices: [Int]
    /// The independent part of the history that failed.
    public var partition: HistoryPartition
    /// One line per operation of `conflict`, with what the final read added to it.
    public var details: [String]

    public var description: String {
        ([explanation, "partition: \(partition)"] + details.map { "  \($0)" }).joined(separator: "\n")
    }
}

public struct LinearizabilityReport: Hashable, Sendable, CustomStringConvertible {
    public var verdict: LinearizabilityVerdict
    /// Operations checked (confirms that were sent).
    public var operations: Int
    public var partitions: Int
    public var largestPartition: Int
    /// Distinct search states (linearized set, model state) the main search visited, over every
    /// partition; the search for a minimal explanation is not counted.
    public var statesExplored: Int

    public var isLinearizable: Bool { verdict == .linearizable }

    public var counterexample: NonLinearizableHistory? {
        if case .notLinearizable(let counterexample) = verdict { return counterexample }
        return nil
    }

    public var description: String {
        let counts = "\(operations) confirms, \(partitions) partition\(partitions == 1 ? "" : "s"), \(statesExplored) state\(statesExplored == 1 ? "" : "s") explored"
        switch verdict {
        case .linearizable: return "linearizable (\(counts))"
        case .notLinearizable(let counterexample): return "not linearizable (\(counts)): \(counterexample)"
        case .unknown(let reason): return "undecided (\(counts)): \(reason)"
        }
    }
}

// MARK: - The checker

/// Checks that a history of confirms is linearizable against the booking service's sequential
/// specification:
///
/// - state: the remaining capacity of each room-night, and the request ids already booked;
/// - `confirm(stay, request)`: a request already booked is answered "booked" again with no new
///   effect (idempotency); otherwise, if every night of the stay has capacity ≥ 1, each is
///   decremented and the answer is "booked"; otherwise the answer is "refused".
///
/// A `.booked` or `.refused` operation must take effect at one instant between its invocation
/// and its completion and get the answer it got. An `.unknown` one may take effect at any instant
/// after its invocation, even after the client gave up (a paused replica or a recovery worker can
/// still act), or not at all; so its completion is taken as +infinity, as Jepsen and Porcupine do,
/// and any answer matches it. "Not at all" needs no separate branch: an unknown operation placed
/// after everything else changes nothing anyone observed.
///
/// The search is Wing & Gong's as Lowe improved it and Porcupine implements it: call and return
/// entries sorted by time in a doubly linked list; depth-first, linearizing a call whose model
/// step matches (lift), backtracking on reaching the return of an operation not yet linearized
/// (unlift); a cache of (linearized set, model state) pairs so that no state is searched twice.
/// The history is first split into independent parts (P-compositionality): union-find over
/// room-nights joins the nights of each stay, and the stays of operations sharing a request id;
/// each part is checked alone.
///
/// With a final read (`BookingHistory.finalBookings`), each unknown request holding a confirmed
/// booking is checked as booked, by the time of the read; the read's outright contradictions (a
/// `409` holding a booking, a `201` holding none, a request booked twice, a booking that answers
/// no request) are reported before any search. Rows are matched to requests by request id, else
/// by user and stay; a request shared by several operations is left as its answers say.
///
/// Three reductions, each exact for this specification (capacities only ever go down and the
/// booked set only grows), keep the search small:
/// - **forced steps**: an operation that can be linearized now without any effect (a refusal
///   when a night of its stay is full, an unknown one that would be refused, a repeat of a
///   booked request) is linearized at once without branching: moving it earlier in any valid
///   order keeps the order valid. In the seed experiment, once the one booking is placed every
///   refusal and every `503` falls into place in one pass.
/// - **dead states**: if the `201`s not yet linearized need more of some night than it has
///   left, no order completes from here; the search backs off at once (and rejects a double
///   booking before it starts).
/// - **symmetry**: operations with the same stay and the same kind of answer, unique request
///   ids, and one's invocation and completion no later than the other's are interchangeable;
///   the later of such a pair is never tried while the earlier waits. Forty-nine identical `503`s cost one branch,
///   not forty-nine.
///
/// The checker is pure and deterministic: no clock, no randomness, and no hash order shapes a
/// result (the cache is only asked for membership).
public struct LinearizabilityChecker: Sendable {
    /// The most distinct states the search may visit in any one partition before it answers
    /// `.unknown`. Each state keeps a bitset of the partition's operations in memory.
    public var maxStates: Int

    public init(maxStates: Int = 100_000) {
        self.maxStates = maxStates
    }

    public func check(_ history: BookingHistory) -> LinearizabilityReport {
        let resolved = FinalRead(history)
        let effective = BookingHistory(operations: resolved.operations, capacities: history.capacities)
        let partitions = effective.partitions()
        var report = LinearizabilityReport(verdict: .linearizable, operations: history.operations.count,
                                           partitions: partitions.count,
                                           largestPartition: partitions.map(\.operationIndices.count).max() ?? 0,
                                           statesExplored: 0)
        func details(_ indices: [Int]) -> [String] {
            indices.map { index in "\(history.operations[index])" + (resolved.notes[index].map { "; \($0)" } ?? "") }
        }
        if let contradiction = resolved.contradiction {
            let first = contradiction.operations.first
            let partition = partitions.first { first != nil && $0.operationIndices.contains(first!) }
                ?? HistoryPartition(roomNights: contradiction.roomNights, operationIndices: [])
            report.verdict = .notLinearizable(NonLinearizableHistory(
                explanation: contradiction.explanation, conflict: contradiction.operations.map { history.operations[$0] },
                conflictIndices: contradiction.operations, partition: partition, details: details(contradiction.operations)))
            return report
        }
        var undecided: [String] = []
        for partition in partitions {
            let operations = partition.operationIndices.map { effective.operations[$0] }
            let search = LinearizationSearch(operations: operations, weakened: nil, roomNights: partition.roomNights,
                                             capacities: history.capacities, maxStates: maxStates)
            let result = search.run()
            report.statesExplored += search.states
            switch result {
            case .linearizable:
                continue
            case .exhausted:
                undecided.append("\(partition): gave up after \(search.states) states (budget \(maxStates))")
            case .notLinearizable:
                let conflict = minimalConflict(partition: partition, operations: operations, capacities: history.capacities)
                let indices = conflict.map { partition.operationIndices[$0] }
                report.verdict = .notLinearizable(NonLinearizableHistory(
                    explanation: Self.sentence(conflict: conflict.map { operations[$0] },
                                               answered: indices.map { history.operations[$0].outcome },
                                               partitionSize: operations.count, capacities: history.capacities),
                    conflict: indices.map { history.operations[$0] }, conflictIndices: indices, partition: partition,
                    details: details(indices)))
                return report
            }
        }
        if !undecided.isEmpty {
            report.verdict = .unknown(reason: "the search budget ran out in " + undecided.joined(separator: "; "))
        }
        return report
    }

    /// Shrinks a failing partition to a minimal set of definite answers that still cannot be
    /// ordered, every other operation weakened to unknown (which only ever admits more orders, so
    /// failing is monotone in the set and one pass at the finest grain gives a minimal set).
    /// Local indices (into `operations`) of a minimal failing set of definite operations.
    func minimalConflict(partition: HistoryPartition, operations: [HistoryOperation], capacities: [RoomNight: Int]) -> [Int] {
        func fails(_ definite: [Int]) -> Bool {
            var weakened = [Bool](repeating: true, count: operations.count)
            for index in definite { weakened[index] = false }
            let search = LinearizationSearch(operations: operations, weakened: weakened, roomNights: partition.roomNights,
                                             capacities: capacities, maxStates: maxStates)
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

    /// `conflict` as checked (after the final read), `answered` what their clients were told.
    static func sentence(conflict: [HistoryOperation], answered: [ConfirmOutcome], partitionSize: Int,
                         capacities: [RoomNight: Int]) -> String {
        func isBooked(_ outcome: ConfirmOutcome) -> Bool { if case .booked = outcome { true } else { false } }
        let names = HistoryText.list(conflict.map(\.request.rawValue))
        let all = "no order of the \(partitionSize) confirm\(partitionSize == 1 ? "" : "s")"
        if conflict.allSatisfy({ isBooked($0.outcome) }), let first = conflict.first {
            let shared = first.roomNights.filter { night in conflict.allSatisfy { $0.roomNights.contains(night) } }
            if let night = shared.first(where: { (capacities[$0] ?? 0) < conflict.count }) {
                let capacity = capacities[night] ?? 0
                let verb = if answered.allSatisfy(isBooked) {
                    conflict.count == 1 ? "was answered 201 for" : conflict.count == 2 ? "were both answered 201 for" : "were all answered 201 for"
                } else {
                    conflict.count == 1 ? "booked" : conflict.count == 2 ? "both booked" : "all booked"
                }
                let object = conflict.count == 1 ? "it" : conflict.count == 2 ? "both" : "all \(conflict.count)"
                return "\(names) \(verb) \(night), which has capacity \(capacity): \(all) explains \(object)."
            }
        }
        if conflict.count == 1, let refused = conflict.first, refused.outcome == .refused {
            let capacityText = HistoryText.list(refused.roomNights.map { "\($0.night) has \(capacities[$0] ?? 0)" })
            let when = refused.completedAt.map { " by \(HistoryText.time($0))" } ?? ""
            return "\(refused.request) was answered 409 (no room) for \(refused.stay), but too few confirms for those nights "
                + "had been sent\(when) to fill them (capacity: \(capacityText)): \(all) explains the refusal."
        }
        return "\(names) cannot all have been answered as they were: \(all), each placed between its sending "
            + "and its answer, gives \(conflict.count == 2 ? "both" : "all \(conflict.count)") those answers."
    }
}

// MARK: - The final read

/// A history's operations as the search sees them once the final read is applied, with a note
/// per changed operation, or the read's first outright contradiction.
struct FinalRead {
    var operations: [HistoryOperation]
    var notes: [String?]
    var contradiction: (explanation: String, operations: [Int], roomNights: [RoomNight])?

    init(_ history: BookingHistory) {
        operations = history.operations
        notes = [String?](repeating: nil, count: history.operations.count)
        guard let final = history.finalBookings else { return }
        let when = HistoryText.time(final.time)

        struct UserStay: Hashable { var user: UserID; var stay: Stay }
        var byRequest: [RequestID: [Int]] = [:]
        var byUserStay: [UserStay: [Int]] = [:]
        for (index, operation) in history.operations.enumerated() {
            byRequest[operation.request, default: []].append(index)
            byUserStay[UserStay(user: operation.user, stay: operation.stay), default: []].append(index)
        }
        /// The one request a row belongs to; `nil` and no operations when it answers none,
        /// `nil` with operations when it could be several users' requests.
        func owner(_ row: Booking) -> (request: RequestID?, operations: [Int]) {
            var targets = row.requestID.flatMap { byRequest[$0] } ?? []
            if targets.isEmpty, let stay = row.stay { targets = byUserStay[UserStay(user: row.userID, stay: stay)] ?? [] }
            let requests = Set(targets.map { history.operations[$0].request })
            return (requests.count == 1 ? requests.first : nil, targets)
        }
        var rows: [RequestID: [Booking]] = [:]
        var pending: Set<RequestID> = []
        var unexplained: [Booking] = []
        for row in final.bookings.sorted(by: { $0.id < $1.id }) where row.status != .cancelled {
            let (request, targets) = owner(row)
            if row.status == .pending {
                if let request { pending.insert(request) }
            } else if let request {
                rows[request, default: []].append(row)
            } else if targets.isEmpty {
                unexplained.append(row)
            }
        }
        func nights(_ indices: [Int]) -> [RoomNight] { Array(Set(indices.flatMap { history.operations[$0].roomNights })).sorted() }
        func ids(_ rows: [Booking]) -> String { HistoryText.list(rows.map { String($0.id.rawValue) }) }

        for request in rows.keys.sorted() where rows[request]!.count > 1 {
            let indices = byRequest[request]!
            contradiction = ("\(request) holds \(rows[request]!.count) confirmed bookings (\(ids(rows[request]!))) at \(when): "
                + "one request books once.", indices, nights(indices))
            return
        }
        let order = history.operations.indices.sorted {
            (history.operations[$0].invokedAt, $0) < (history.operations[$1].invokedAt, $1)
        }
        for index in order {
            let operation = history.operations[index]
            guard byRequest[operation.request]!.count == 1 else { continue }
            let row = rows[operation.request]?.first
            switch operation.outcome {
            case .refused where row != nil:
                contradiction = ("\(operation.request) was answered 409, yet the booking database holds booking \(row!.id) "
                    + "for it at \(when).", [index], operation.roomNights)
                notes[index] = "booking \(row!.id) holds it at \(when)"
                return
            case .booked where row == nil && !pending.contains(operation.request):
                contradiction = ("\(operation.request) was answered 201, yet the booking database holds no confirmed "
                    + "booking for it at \(when).", [index], operation.roomNights)
                return
            case .unknown where row != nil:
                operations[index].outcome = .booked(row!.id)
                operations[index].completedAt = max(operation.invokedAt, final.time)
                notes[index] = "booking \(row!.id) holds it at \(when)"
            default:
                break
            }
        }
        if let row = unexplained.first {
            let stay = row.stay.map { "\($0)" } ?? "room \(row.room)"
            contradiction = ("booking \(row.id) (\(row.userID), \(stay)) answers no confirm of the history.", [],
                             row.stay.map { stay in stay.nights.map { RoomNight(room: stay.room, night: $0) } } ?? [])
        }
    }
}

// MARK: - Partitions

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

// MARK: - The search

/// One Wing & Gong / Lowe search over one partition.
final class LinearizationSearch {
    enum Result: Equatable { case linearizable, notLinearizable, exhausted }

    enum Kind { case booked, refused, unknown }

    struct Operation {
        var nights: [Int]
        var kind: Kind
        var call: Int64
        var ret: Int64
        /// Index among the partition's repeated request ids, or -1 when the id is unique.
        var shared: Int
        /// Interchangeable operations (see `LinearizabilityChecker`), or -1.
        var group: Int
        var groupPosition: Int
    }

    struct Key: Hashable {
        var done: [UInt64]
        var capacities: [Int]
        var sharedBooked: [UInt64]
    }

    private struct Frame {
        var operation: Int
        var effect: Bool
        var sharedAdded: Bool
        var forcedBase: Int
    }

    let operations: [Operation]
    let count: Int
    let maxStates: Int
    private(set) var states = 0

    private var capacities: [Int]
    /// Per night: `201`s with unique request ids not yet linearized that need it.
    private var need: [Int]
    private var sharedBooked: [UInt64]
    private var done: [UInt64]
    private var next: [Int]
    private var prev: [Int]
    private let head: Int
    private var groups: [[Int]]
    private var groupNextFree: [Int]
    private var cache = Set<Key>()

    /// `weakened[i]` turns operation `i` into an unknown one (for explanations).
    init(operations source: [HistoryOperation], weakened: [Bool]?, roomNights: [RoomNight],
         capacities initial: [RoomNight: Int], maxStates: Int) {
        var nightIndex: [RoomNight: Int] = [:]
        for (index, night) in roomNights.enumerated() { nightIndex[night] = index }
        var requestCounts: [RequestID: Int] = [:]
        for operation in source { requestCounts[operation.request, default: 0] += 1 }
        var sharedIndex: [RequestID: Int] = [:]
        for request in requestCounts.keys.sorted() where requestCounts[request]! > 1 { sharedIndex[request] = sharedIndex.count }

        var operations: [Operation] = []
        operations.reserveCapacity(source.count)
        for (index, operation) in source.enumerated() {
            var kind: Kind = switch operation.outcome {
            case .booked: .booked
            case .refused: .refused
            case .unknown: .unknown
            }
            if weakened?[index] == true { kind = .unknown }
            let ret = kind == .unknown ? Int64.max : max(operation.invokedAt, operation.completedAt ?? Int64.max)
            operations.append(Operation(nights: operation.roomNights.map { nightIndex[$0]! }, kind: kind,
                                        call: operation.invokedAt, ret: ret, shared: sharedIndex[operation.request] ?? -1,
                                        group: -1, groupPosition: -1))
        }

        // Interchangeable operations: same stay, same kind (booked or unknown), unique request.
        struct GroupKey: Hashable { var nights: [Int]; var booked: Bool }
        var groupOf: [GroupKey: Int] = [:]
        var groups: [[Int]] = []
        for index in operations.indices {
            let operation = operations[index]
            guard operation.shared < 0, operation.kind != .refused else { continue }
            let key = GroupKey(nights: operation.nights, booked: operation.kind == .booked)
            if let group = groupOf[key] {
                groups[group].append(index)
            } else {
                groupOf[key] = groups.count
                groups.append([index])
            }
        }
        for group in groups.indices {
            groups[group].sort { (operations[$0].call, operations[$0].ret, $0) < (operations[$1].call, operations[$1].ret, $1) }
            for (position, index) in groups[group].enumerated() {
                operations[index].group = group
                operations[index].groupPosition = position
            }
        }

        self.operations = operations
        self.count = operations.count
        self.maxStates = maxStates
        self.capacities = roomNights.map { max(0, initial[$0] ?? 0) }
        var need = [Int](repeating: 0, count: roomNights.count)
        for operation in operations where operation.kind == .booked && operation.shared < 0 {
            for night in operation.nights { need[night] += 1 }
        }
        self.need = need
        self.sharedBooked = [UInt64](repeating: 0, count: (sharedIndex.count + 63) / 64)
        self.done = [UInt64](repeating: 0, count: (operations.count + 63) / 64)
        self.groups = groups
        self.groupNextFree = [Int](repeating: 0, count: groups.count)

        // Entries: call of operation i is node i, its return is node count + i; head is 2 * count.
        let n = operations.count
        let order = (0..<(2 * n)).sorted { a, b in
            let (ta, tb) = (a < n ? operations[a].call : operations[a - n].ret, b < n ? operations[b].call : operations[b - n].ret)
            if ta != tb { return ta < tb }
            // At equal times calls come first: touching operations count as concurrent.
            if (a < n) != (b < n) { return a < n }
            return a < b
        }
        head = 2 * n
        next = [Int](repeating: -1, count: 2 * n + 1)
        prev = [Int](repeating: -1, count: 2 * n + 1)
        var last = head
        for node in order {
            next[last] = node
            prev[node] = last
            last = node
        }
    }

    // MARK: State

    private func isDone(_ operation: Int) -> Bool { done[operation >> 6] & (1 << UInt64(operation & 63)) != 0 }

    private func isBookedAlready(_ operation: Operation) -> Bool {
        operation.shared >= 0 && sharedBooked[operation.shared >> 6] & (1 << UInt64(operation.shared & 63)) != 0
    }

    private func remove(_ node: Int) {
        next[prev[node]] = next[node]
        if next[node] >= 0 { prev[next[node]] = prev[node] }
    }

    private func restore(_ node: Int) {
        next[prev[node]] = node
        if next[node] >= 0 { prev[next[node]] = node }
    }

    private func lift(_ index: Int, effect: Bool, sharedAdded: Bool) {
        let operation = operations[index]
        if effect { for night in operation.nights { capacities[night] -= 1 } }
        if sharedAdded { sharedBooked[operation.shared >> 6] |= 1 << UInt64(operation.shared & 63) }
        if operation.kind == .booked && operation.shared < 0 { for night in operation.nights { need[night] -= 1 } }
        done[index >> 6] |= 1 << UInt64(index & 63)
        if operation.group >= 0 && groupNextFree[operation.group] == operation.groupPosition {
            let members = groups[operation.group]
            var free = operation.groupPosition + 1
            while free < members.count && isDone(members[free]) { free += 1 }
            groupNextFree[operation.group] = free
        }
        remove(index)
        remove(count + index)
    }

    private func unlift(_ index: Int, effect: Bool, sharedAdded: Bool) {
        let operation = operations[index]
        restore(count + index)
        restore(index)
        if operation.group >= 0 { groupNextFree[operation.group] = min(groupNextFree[operation.group], operation.groupPosition) }
        done[index >> 6] &= ~(1 << UInt64(index & 63))
        if operation.kind == .booked && operation.shared < 0 { for night in operation.nights { need[night] += 1 } }
        if sharedAdded { sharedBooked[operation.shared >> 6] &= ~(1 << UInt64(operation.shared & 63)) }
        if effect { for night in operation.nights { capacities[night] += 1 } }
    }

    /// Linearizable now with no effect, and with no effect at any later point either.
    private func isForced(_ index: Int) -> Bool {
        let operation = operations[index]
        if isBookedAlready(operation) { return operation.kind != .refused }
        guard operation.nights.contains(where: { capacities[$0] == 0 }) else { return false }
        return operation.kind != .booked
    }

    /// Whether no operation interchangeable with `index` and ahead of it is still waiting.
    private func isCanonical(_ index: Int) -> Bool {
        let operation = operations[index]
        guard operation.group >= 0 else { return true }
        let members = groups[operation.group]
        var position = groupNextFree[operation.group]
        while position < operation.groupPosition {
            let other = members[position]
            if !isDone(other) && operations[other].ret <= operation.ret { return false }
            position += 1
        }
        return true
    }

    private func isDead() -> Bool {
        for night in capacities.indices where need[night] > capacities[night] { return true }
        return false
    }

    /// Lifts every callable forced operation, in list order; returns nothing, records them.
    private func closure(_ forced: inout [Int]) {
        var entry = next[head]
        while entry >= 0 && entry < count {
            if isForced(entry) {
                let before = prev[entry]
                lift(entry, effect: false, sharedAdded: false)
                forced.append(entry)
                entry = next[before]
            } else {
                entry = next[entry]
            }
        }
    }

    private func undoForced(_ forced: inout [Int], to base: Int) {
        while forced.count > base { unlift(forced.removeLast(), effect: false, sharedAdded: false) }
    }

    private var key: Key { Key(done: done, capacities: capacities, sharedBooked: sharedBooked) }

    // MARK: Search

    func run() -> Result {
        var forced: [Int] = []
        var frames: [Frame] = []
        closure(&forced)
        if isDead() { return .notLinearizable }
        cache.insert(key)
        states = 1
        var entry = next[head]
        while next[head] >= 0 {
            if entry >= 0 && entry < count {
                let index = entry
                let operation = operations[index]
                let again = isBookedAlready(operation)
                let books = again || operation.nights.allSatisfy { capacities[$0] >= 1 }
                let matches = switch operation.kind {
                case .booked: books
                case .refused: !books
                case .unknown: true
                }
                if matches && isCanonical(index) {
                    let effect = books && !again
                    let sharedAdded = effect && operation.shared >= 0
                    lift(index, effect: effect, sharedAdded: sharedAdded)
                    let base = forced.count
                    closure(&forced)
                    if next[head] < 0 { return .linearizable }
                    if !isDead() && cache.insert(key).inserted {
                        states += 1
                        if states > maxStates { return .exhausted }
                        frames.append(Frame(operation: index, effect: effect, sharedAdded: sharedAdded, forcedBase: base))
                        entry = next[head]
                        continue
                    }
                    undoForced(&forced, to: base)
                    unlift(index, effect: effect, sharedAdded: sharedAdded)
                }
                entry = next[entry]
            } else {
                // The return of an operation not yet linearized (or the end): back off.
                guard let frame = frames.popLast() else { return .notLinearizable }
                undoForced(&forced, to: frame.forcedBase)
                unlift(frame.operation, effect: frame.effect, sharedAdded: frame.sharedAdded)
                entry = next[frame.operation]
            }
        }
        return .linearizable
    }
}

extension HistoryText {
    /// `a`, `a and b`, `a, b and c`.
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// Room-nights grouped by room, consecutive nights as ranges: `room 1 nights 2026-03-15..2026-03-16`.
    static func roomNights(_ nights: [RoomNight]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = nights.sorted()
        while index < sorted.count {
            let room = sorted[index].room
            var ranges: [String] = []
            while index < sorted.count && sorted[index].room == room {
                let start = sorted[index].night
                var end = start
                index += 1
                while index < sorted.count && sorted[index].room == room && sorted[index].night == end.adding(days: 1) {
                    end = sorted[index].night
                    index += 1
                }
                ranges.append(start == end ? "\(start)" : "\(start)..\(end)")
            }
            parts.append("room \(room) night\(ranges.count == 1 && !ranges[0].contains("..") ? "" : "s") \(ranges.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}
