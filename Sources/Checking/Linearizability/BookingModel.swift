import BookingCore

/// The booking service's sequential specification, over one partition's room-nights:
///
/// - state: the remaining capacity of each room-night, and the request ids already booked;
/// - `confirm(stay, request)`: a request already booked is answered "booked" again with no new
///   effect (idempotency); otherwise, if every night of the stay has capacity ≥ 1, each is
///   decremented and the answer is "booked"; otherwise the answer is "refused".
///
/// A `.booked` or `.refused` operation must take effect at one instant between its invocation
/// and its completion and get the answer it got; a `.noEffect` one takes none (it may be placed
/// anywhere and changes nothing). An `.unknown` one may take effect at any instant
/// after its invocation, even after the client gave up (a paused replica or a recovery worker can
/// still act), or not at all; so its completion is taken as +infinity, as Jepsen and Porcupine do,
/// and any answer matches it. "Not at all" needs no separate branch: an unknown operation placed
/// after everything else changes nothing anyone observed. A request of several operations that
/// the final read says is booked (`mustBook`) must be booked by one of them by the end.
///
/// Its reductions are exact because capacities only ever go down and the booked set only grows:
/// - **forced steps**: an operation that can be linearized now without any effect (a refusal
///   when a night of its stay is full, an unknown one that would be refused, a repeat of a
///   booked request) is linearized at once without branching: moving it earlier in any valid
///   order keeps the order valid. In the seed experiment, once the one booking is placed every
///   refusal and every `503` falls into place in one pass.
/// - **dead states**: if the `201`s not yet linearized need more of some night than it has
///   left, no order completes from here; the search backs off at once (and rejects a double
///   booking before it starts).
/// - **symmetry**: operations with the same stay and the same kind of answer (booked or
///   unknown) and unique request ids are interchangeable. Forty-nine identical `503`s cost one
///   branch, not forty-nine.
struct BookingModel: SequentialModel {
    enum Kind { case booked, refused, unknown, noEffect }

    struct Operation {
        var nights: [Int]
        var kind: Kind
        var call: Int64
        var ret: Int64
        /// Index among the partition's repeated request ids, or -1 when the id is unique.
        var shared: Int
    }

    struct State: Hashable {
        var capacities: [Int]
        var sharedBooked: [UInt64]
    }

    struct Step {
        var takesRooms: Bool
        var booksSharedRequest: Bool
    }

    let operations: [Operation]
    let interchangeableSets: [[Int]]
    /// Bits of `State.sharedBooked` that must be set when every operation is linearized.
    private let required: [UInt64]
    private(set) var state: State
    /// Per night: `201`s with unique request ids not yet linearized that need it.
    private var need: [Int]

    /// `weakened[i]` turns operation `i` into an unknown one (for explanations).
    init(operations source: [HistoryOperation], weakened: [Bool]?, roomNights: [RoomNight], capacities initial: [RoomNight: Int],
         mustBook: Set<RequestID> = []) {
        var nightIndex: [RoomNight: Int] = [:]
        for (index, night) in roomNights.enumerated() { nightIndex[night] = index }
        var requestCounts: [RequestID: Int] = [:]
        for operation in source { requestCounts[operation.request, default: 0] += 1 }
        var sharedIndex: [RequestID: Int] = [:]
        for request in requestCounts.keys.sorted() where requestCounts[request]! > 1 { sharedIndex[request] = sharedIndex.count }

        let operations = source.enumerated().map { index, operation in
            var kind: Kind = switch operation.outcome {
            case .booked: .booked
            case .refused: .refused
            case .unknown: .unknown
            case .noEffect: .noEffect
            }
            if weakened?[index] == true { kind = .unknown }
            let ret = kind == .unknown ? Int64.max : max(operation.invokedAt, operation.completedAt ?? Int64.max)
            return Operation(nights: operation.roomNights.map { nightIndex[$0]! }, kind: kind, call: operation.invokedAt,
                             ret: ret, shared: sharedIndex[operation.request] ?? -1)
        }
        self.operations = operations
        self.interchangeableSets = Self.interchangeableSets(of: operations)
        self.state = State(capacities: roomNights.map { max(0, initial[$0] ?? 0) },
                           sharedBooked: [UInt64](repeating: 0, count: (sharedIndex.count + 63) / 64))
        var required = [UInt64](repeating: 0, count: (sharedIndex.count + 63) / 64)
        for request in mustBook { if let shared = sharedIndex[request] { required[shared >> 6] |= 1 << UInt64(shared & 63) } }
        self.required = required
        var need = [Int](repeating: 0, count: roomNights.count)
        for operation in operations where operation.kind == .booked && operation.shared < 0 {
            for night in operation.nights { need[night] += 1 }
        }
        self.need = need
    }

    /// Same stay, same kind (booked or unknown), unique request: in order of first appearance.
    private static func interchangeableSets(of operations: [Operation]) -> [[Int]] {
        struct GroupKey: Hashable { var nights: [Int]; var booked: Bool }
        var groupOf: [GroupKey: Int] = [:]
        var groups: [[Int]] = []
        for (index, operation) in operations.enumerated() {
            guard operation.shared < 0, operation.kind == .booked || operation.kind == .unknown else { continue }
            let key = GroupKey(nights: operation.nights, booked: operation.kind == .booked)
            if let group = groupOf[key] {
                groups[group].append(index)
            } else {
                groupOf[key] = groups.count
                groups.append([index])
            }
        }
        return groups
    }

    var operationCount: Int { operations.count }
    func invocation(of operation: Int) -> Int64 { operations[operation].call }
    func completion(of operation: Int) -> Int64 { operations[operation].ret }

    var acceptsEnd: Bool {
        zip(state.sharedBooked, required).allSatisfy { booked, required in booked & required == required }
    }

    var isDead: Bool {
        for night in state.capacities.indices where need[night] > state.capacities[night] { return true }
        return false
    }

    private func isBookedAlready(_ operation: Operation) -> Bool {
        operation.shared >= 0 && state.sharedBooked[operation.shared >> 6] & (1 << UInt64(operation.shared & 63)) != 0
    }

    func step(_ index: Int) -> Step? {
        let operation = operations[index]
        let again = isBookedAlready(operation)
        let books = again || operation.nights.allSatisfy { state.capacities[$0] >= 1 }
        let matches = switch operation.kind {
        case .booked: books
        case .refused: !books
        case .unknown, .noEffect: true
        }
        guard matches else { return nil }
        let takesRooms = books && !again && operation.kind != .noEffect
        return Step(takesRooms: takesRooms, booksSharedRequest: takesRooms && operation.shared >= 0)
    }

    func forcedStep(_ index: Int) -> Step? {
        let operation = operations[index]
        let isForced = if operation.kind == .noEffect {
            true
        } else if isBookedAlready(operation) {
            operation.kind != .refused
        } else {
            operation.kind != .booked && operation.nights.contains { state.capacities[$0] == 0 }
        }
        return isForced ? Step(takesRooms: false, booksSharedRequest: false) : nil
    }

    mutating func apply(_ step: Step, of index: Int) {
        let operation = operations[index]
        if step.takesRooms { for night in operation.nights { state.capacities[night] -= 1 } }
        if step.booksSharedRequest { state.sharedBooked[operation.shared >> 6] |= 1 << UInt64(operation.shared & 63) }
        if operation.kind == .booked && operation.shared < 0 { for night in operation.nights { need[night] -= 1 } }
    }

    mutating func undo(_ step: Step, of index: Int) {
        let operation = operations[index]
        if operation.kind == .booked && operation.shared < 0 { for night in operation.nights { need[night] += 1 } }
        if step.booksSharedRequest { state.sharedBooked[operation.shared >> 6] &= ~(1 << UInt64(operation.shared & 63)) }
        if step.takesRooms { for night in operation.nights { state.capacities[night] += 1 } }
    }
}
