/// The processes of a run, the same in both worlds: the simulator's tasks belong to them, and
/// real mode names its clients and services by them.

/// Which kind of process a task belongs to.
public enum ProcessKind: String, Hashable, Sendable, Codable, Comparable {
    case client
    case booking
    case inventory
    case redis
    case postgres
    /// The simulator's own bookkeeping tasks (the spawner).
    case harness

    /// A stable number per kind, for hashing and ordering (never hash order).
    public var order: Int {
        switch self {
        case .client: 0
        case .booking: 1
        case .inventory: 2
        case .redis: 3
        case .postgres: 4
        case .harness: 5
        }
    }
    public static func < (a: ProcessKind, b: ProcessKind) -> Bool { a.order < b.order }
}

public struct ProcessID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public var kind: ProcessKind
    public var index: Int
    public init(kind: ProcessKind, index: Int) {
        self.kind = kind
        self.index = index
    }
    public static func < (a: ProcessID, b: ProcessID) -> Bool { (a.kind, a.index) < (b.kind, b.index) }
    public var description: String {
        switch kind {
        case .client: "user-\(index)"
        case .booking: "booking-\(index)"
        case .inventory: "inventory"
        case .redis: "redis"
        case .postgres: index == 0 ? "inventory_db" : "booking_db"
        case .harness: "harness"
        }
    }
}

/// A process as one incarnation: after a crash and restart the same `ProcessID` runs as a new
/// incarnation, and the old one's parked tasks are never resumed.
public struct ProcessContext: Hashable, Sendable, CustomStringConvertible, Codable {
    public var id: ProcessID
    public var incarnation: Int
    public init(id: ProcessID, incarnation: Int) {
        self.id = id
        self.incarnation = incarnation
    }
    public var description: String { incarnation == 0 ? id.description : "\(id)#\(incarnation)" }
}
