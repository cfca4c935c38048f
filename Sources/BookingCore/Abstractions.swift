/// The four things the algorithms run against: a clock (the standard library's `Clock`), a lock,
/// stores and a network. Each has a simulated implementation (target `Simulation`) and a real
/// one (target `Backends`/`Services`), checked by one contract test suite per abstraction.

// MARK: Lock

/// A lease-style lock service with Redis semantics.
public protocol LockService: Sendable {
    /// `SET key token NX PX ttl`: `true` when this call created the key.
    func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool
    /// Compare-and-delete (the seed's Lua script): deletes `key` only while it still holds
    /// `token`. `false` means the lock had expired or belonged to someone else by then.
    func release(key: String, token: String) async throws(LockError) -> Bool
    /// `GET key`.
    func holder(of key: String) async throws(LockError) -> String?
    /// `INCR key`: the next fencing token.
    func nextFencingToken(_ key: String) async throws(LockError) -> Int
}

// MARK: Stores

/// The booking service's database (`booking_db`). Each method is one SQL statement; the real
/// adapter runs exactly that statement with `PQexecParams`.
public protocol BookingDatabase: Sendable {
    /// `BEGIN` (READ COMMITTED).
    func begin() async throws(StoreError) -> any BookingTransaction
    /// `SELECT ... FROM bookings WHERE id = $1`
    func booking(id: BookingID) async throws(StoreError) -> Booking?
    /// `SELECT ... FROM bookings WHERE user_id = $1 ORDER BY id`
    func bookings(userID: UserID) async throws(StoreError) -> [Booking]
    /// `SELECT ... FROM bookings ORDER BY id`
    func allBookings() async throws(StoreError) -> [Booking]
    /// `SELECT ... FROM bookings WHERE request_id = $1`
    func booking(requestID: RequestID) async throws(StoreError) -> Booking?
    /// `SELECT ... FROM bookings WHERE status = 'pending' ORDER BY id`
    func pendingBookings() async throws(StoreError) -> [Booking]
}

public protocol BookingTransaction: Sendable {
    /// `INSERT INTO bookings (...) VALUES (...) RETURNING id`; a unique index on `request_id`
    /// (where present) raises `StoreError.uniqueViolation`.
    func insert(_ booking: NewBooking) async throws(StoreError) -> Booking
    /// `UPDATE bookings SET status = $3 WHERE id = $1 AND status = $2`: whether it changed.
    func setStatus(of id: BookingID, from old: BookingStatus, to new: BookingStatus) async throws(StoreError) -> Bool
    /// `INSERT INTO fences (resource, token) VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE
    ///  SET token = EXCLUDED.token WHERE fences.token <= EXCLUDED.token RETURNING token`:
    /// `false` when a newer token already wrote (the caller's lock is stale). Locks the fence
    /// row to commit.
    func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool
    /// `COMMIT`. After an error the transaction is over either way.
    func commit() async throws(StoreError)
    /// `ROLLBACK`. Never fails from the caller's point of view: a lost connection rolls back too.
    func rollback() async
}

/// The inventory service's database (`inventory_db`).
public protocol InventoryDatabase: Sendable {
    /// `BEGIN` (READ COMMITTED).
    func begin() async throws(StoreError) -> any InventoryTransaction
    /// `SELECT available_quantity FROM availability WHERE room_id = $1 AND date = $2`, autocommit.
    func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int?
    /// `SELECT id, name, total_quantity FROM rooms ORDER BY id`
    func rooms() async throws(StoreError) -> [Room]
}

public protocol InventoryTransaction: Sendable {
    /// `SELECT available_quantity FROM availability WHERE room_id = $1 AND date = $2`
    func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int?
    /// `UPDATE availability SET available_quantity = $3 WHERE room_id = $1 AND date = $2`:
    /// writes a value the caller computed (an ORM's read-modify-write). Returns rows updated.
    func setAvailableQuantity(_ key: RoomNight, to quantity: Int) async throws(StoreError) -> Int
    /// `UPDATE availability SET available_quantity = available_quantity - $3
    ///  WHERE room_id = $1 AND date = $2 AND available_quantity >= $3`. Returns whether a row changed.
    func decrementIfAvailable(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Bool
    /// `UPDATE availability SET available_quantity = available_quantity + $3 WHERE room_id = $1 AND date = $2`
    func increment(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Int
    /// The same fence as `BookingTransaction.advanceFence`, in the inventory's database.
    func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool
    /// `INSERT INTO reservations (request_id, room_id, check_in, check_out) VALUES (...)
    ///  ON CONFLICT (request_id) DO NOTHING`: `false` when this request already reserved.
    func recordReservation(_ requestID: RequestID, stay: Stay) async throws(StoreError) -> Bool
    /// `DELETE FROM reservations WHERE request_id = $1`: whether there was one.
    func removeReservation(_ requestID: RequestID) async throws(StoreError) -> Bool
    func commit() async throws(StoreError)
    func rollback() async
}

// MARK: Network

/// A caller's view of another process: one request, one answer, or a `NetworkError`.
/// In simulation it crosses the simulated network; in real mode it is HTTP.
public protocol RemoteService<Request>: Sendable {
    associatedtype Request: Sendable
    func call(_ request: Request, timeout: Duration) async throws(NetworkError) -> APIResponse
}

// MARK: Ids and fault points

/// Where lock tokens come from. Real mode uses UUIDs; the simulator draws from its seeded stream
/// so that a seed names one run exactly.
public protocol IdentifierSource: Sendable {
    func lockToken() -> String
}

/// Named places in the algorithms where the simulator may inject a fault (a pause, a crash)
/// as FoundationDB's BUGGIFY does. Real mode ignores them unless a flag arms them.
public enum AlgorithmPoint: String, Sendable, CaseIterable, Hashable, Codable {
    case lockAcquired = "after-lock-acquired"
    case beforeInsert = "before-insert"
    case beforeDecrement = "before-decrement"
    case beforeCommit = "before-commit"
    case afterCommit = "after-commit"
    case beforeRelease = "before-release"
    /// The inventory service, after it read a night's availability: before it answers a
    /// `GET availability`, or, in a read-modify-write reserve or release, before it decides.
    case inventoryAfterRead = "inventory-after-read"
    /// The inventory service's reserve or release, before it `UPDATE`s a night.
    case inventoryBeforeWrite = "inventory-before-write"
    /// The inventory service's reserve or release, every night changed, before its `COMMIT`.
    case inventoryBeforeCommit = "inventory-before-commit"

    /// The booking service's points, in the order a confirm reaches them. Swarm and the fault
    /// profiles draw from these (the inventory's points came later: drawing from every case
    /// would change every seed's faults).
    public static let bookingPoints: [AlgorithmPoint] = [.lockAcquired, .beforeInsert, .beforeDecrement, .beforeCommit, .afterCommit, .beforeRelease]

    /// Whether the inventory service reaches this point (otherwise a booking replica does).
    public var isInventoryPoint: Bool { !Self.bookingPoints.contains(self) }
}

public protocol FaultPoints: Sendable {
    func reached(_ point: AlgorithmPoint) async
}

/// Starts background work that outlives a request (the crash-safe variant's recovery worker).
/// The simulator's spawner keeps it on the simulated executor; real mode uses a task.
public protocol BackgroundWork: Sendable {
    func start(_ work: @escaping @Sendable () async -> Void)
}

/// For worlds with no fault injection.
public struct NoFaultPoints: FaultPoints {
    public init() {}
    public func reached(_ point: AlgorithmPoint) async {}
}
