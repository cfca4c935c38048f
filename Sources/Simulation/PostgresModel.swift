import BookingCore
import RunObservation

/// A transaction in a `PostgresModel`.
public struct TransactionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public static func < (a: TransactionID, b: TransactionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "tx\(rawValue)" }
}

/// How a statement ended in the model.
public enum StatementResult<Value> {
    case done(Value)
    /// Waits for a row lock (or a conflicting uncommitted unique key) held by another
    /// transaction; run the same statement again when that one ends, and PostgreSQL's re-check
    /// of the `WHERE` on the newest row version falls out of the re-run.
    case blocked(on: TransactionID)
    case failed(StoreError)
}

/// Rows of one table under READ COMMITTED: each row has a committed version (or none: not yet
/// inserted, or deleted) and, while a transaction holds its row lock, that transaction's
/// pending version, visible to it alone until commit.
struct VersionedTable<Key: Hashable, Value> {
    struct Row {
        var committed: Value?
        var holder: TransactionID?
        /// `.some(nil)`: a pending delete.
        var pending: Value??
    }

    private(set) var rows: [Key: Row] = [:]

    init() {}

    init(committed: [Key: Value]) {
        rows.reserveCapacity(committed.count)
        for (key, value) in committed { rows[key] = Row(committed: value) }
    }

    /// What a statement of `tx` (or an autocommit statement, `nil`) sees.
    func visible(_ key: Key, to tx: TransactionID?) -> Value? {
        guard let row = rows[key] else { return nil }
        if let tx, row.holder == tx, let pending = row.pending { return pending }
        return row.committed
    }

    /// Another transaction holding the row lock, if any.
    func lockHolder(_ key: Key, otherThan tx: TransactionID) -> TransactionID? {
        guard let holder = rows[key]?.holder, holder != tx else { return nil }
        return holder
    }

    /// The transaction an `UPDATE` or `DELETE` by `tx` must wait for: the lock holder of a
    /// committed row. A row another transaction inserted and has not committed is not in the
    /// statement's snapshot: PostgreSQL neither waits for it nor touches it.
    func updateBlocker(_ key: Key, for tx: TransactionID) -> TransactionID? {
        guard rows[key]?.committed != nil else { return nil }
        return lockHolder(key, otherThan: tx)
    }

    /// Writes `value` (`nil` deletes) as `tx`'s pending version, taking the row lock. Returns
    /// whether this is the first lock `tx` takes on the row (so it must remember the key).
    mutating func write(_ key: Key, _ value: Value?, by tx: TransactionID) -> Bool {
        var row = rows[key] ?? Row(committed: nil)
        let first = row.holder != tx
        row.holder = tx
        row.pending = .some(value)
        rows[key] = row
        return first
    }

    mutating func commit(_ key: Key) {
        guard var row = rows[key] else { return }
        if let pending = row.pending { row.committed = pending }
        row.pending = nil
        row.holder = nil
        rows[key] = row.committed == nil ? nil : row
    }

    mutating func rollback(_ key: Key) {
        guard var row = rows[key] else { return }
        row.pending = nil
        row.holder = nil
        rows[key] = row.committed == nil ? nil : row
    }

    /// Each row's committed and pending versions and whether it is locked (not by which
    /// transaction number: those count BEGINs, an accident of the interleaving).
    func digest(into hasher: inout FNV1a, key feedKey: (Key, inout FNV1a) -> Void, value feedValue: (Value, inout FNV1a) -> Void) {
        var table = UnorderedDigest()
        for (key, row) in rows {
            var element = FNV1a()
            feedKey(key, &element)
            if let committed = row.committed { element.feed(1); feedValue(committed, &element) } else { element.feed(0) }
            element.feed(row.holder == nil ? 0 : 1)
            switch row.pending {
            case .none: element.feed(0)
            case .some(.none): element.feed(1)
            case .some(.some(let value)): element.feed(2); feedValue(value, &element)
            }
            table.add(element)
        }
        table.feed(into: &hasher)
    }

    var committedEntries: [(Key, Value)] {
        rows.compactMap { key, row in row.committed.map { (key, $0) } }
    }
}

/// PostgreSQL at READ COMMITTED for the statements the algorithms use, as a pure state machine
/// (no time, no I/O; the async glue in `SimPostgres` adds latency, parking and deadlock timeouts).
///
/// Faithful points: a statement sees what was committed when it ran plus its own transaction's
/// writes; `UPDATE`/`INSERT ... ON CONFLICT DO UPDATE` take a row lock held to commit; a second
/// writer waits, then re-evaluates its `WHERE` on the committed row; an error aborts the
/// transaction and releases its locks (the client still has to `ROLLBACK`); unique indexes wait
/// on an uncommitted duplicate; sequences do not roll back; a lost connection rolls back.
public final class PostgresModel {
    public let name: String

    enum Status { case active, aborted }

    enum RowRef: Hashable {
        case availability(RoomNight)
        case booking(BookingID)
        case fence(String)
        case reservation(RequestID)
    }

    struct TransactionState {
        var status: Status = .active
        var locked: [RowRef] = []
        var waitingFor: TransactionID?
    }

    @exclusivity(unchecked) public private(set) var rooms: [Room]
    @exclusivity(unchecked) private var availability: VersionedTable<RoomNight, Int>
    private let availabilityKeys: [RoomNight]
    @exclusivity(unchecked) private var bookings = VersionedTable<BookingID, Booking>()
    @exclusivity(unchecked) private var bookingOrder: [BookingID] = []
    /// `UNIQUE (request_id)`: the booking that holds each request id, committed or pending.
    @exclusivity(unchecked) private var requestIndex: [RequestID: BookingID] = [:]
    @exclusivity(unchecked) private var nextBookingID = 1
    @exclusivity(unchecked) private var fences = VersionedTable<String, Int>()
    @exclusivity(unchecked) private var reservations = VersionedTable<RequestID, Stay>()
    @exclusivity(unchecked) private var transactions: [TransactionID: TransactionState] = [:]
    @exclusivity(unchecked) private var nextTransaction = 1

    public init(name: String, rooms: [Room] = [], availability: [RoomNight: Int] = [:]) {
        self.name = name
        self.rooms = rooms
        self.availability = VersionedTable(committed: availability)
        self.availabilityKeys = availability.keys.sorted()
    }

    /// The database's content, committed and pending, for a state hash.
    public func digest(into hasher: inout FNV1a) {
        availability.digest(into: &hasher, key: { key, h in h.feed(Int64(key.room.rawValue)); h.feed(Int64(key.night.daysSinceEpoch)) },
                            value: { value, h in h.feed(Int64(value)) })
        bookings.digest(into: &hasher, key: { key, h in h.feed(Int64(key.rawValue)) }, value: { booking, h in
            h.feed(booking.userID.rawValue)
            h.feed(Int64(booking.room.rawValue))
            h.feed(Int64(booking.checkIn.daysSinceEpoch))
            h.feed(Int64(booking.checkOut.daysSinceEpoch))
            h.feed(booking.status.rawValue)
            h.feed(booking.requestID?.rawValue ?? "")
            h.feed(Int64(booking.fencingToken ?? -1))
        })
        fences.digest(into: &hasher, key: { key, h in h.feed(key) }, value: { value, h in h.feed(Int64(value)) })
        reservations.digest(into: &hasher, key: { key, h in h.feed(key.rawValue) }, value: { stay, h in
            h.feed(Int64(stay.room.rawValue))
            h.feed(Int64(stay.checkIn.daysSinceEpoch))
            h.feed(Int64(stay.checkOut.daysSinceEpoch))
        })
        var open = UnorderedDigest()
        for state in transactions.values {
            var element = FNV1a()
            element.feed(state.status == .active ? 1 : 2)
            element.feed(Int64(state.locked.count))
            element.feed(state.waitingFor == nil ? 0 : 1)
            open.add(element)
        }
        open.feed(into: &hasher)
    }

    // MARK: Transactions

    public func begin() -> TransactionID {
        let id = TransactionID(rawValue: nextTransaction)
        nextTransaction += 1
        transactions[id] = TransactionState()
        return id
    }

    public func isOpen(_ tx: TransactionID) -> Bool { transactions[tx] != nil }

    /// `COMMIT`. Returns the transactions that waited on this one, oldest first: run their
    /// blocked statements again.
    public func commit(_ tx: TransactionID) -> StatementResult<[TransactionID]> {
        guard let state = transactions[tx] else { return .failed(.transactionClosed) }
        guard state.status == .active else {
            transactions[tx] = nil
            return .failed(.transactionClosed)
        }
        for row in state.locked {
            switch row {
            case .availability(let key): availability.commit(key)
            case .booking(let id): bookings.commit(id)
            case .fence(let key): fences.commit(key)
            case .reservation(let id): reservations.commit(id)
            }
        }
        transactions[tx] = nil
        return .done(waiters(of: tx))
    }

    /// `ROLLBACK`, or the server's rollback after a lost connection. Returns the waiters.
    @discardableResult
    public func rollback(_ tx: TransactionID) -> [TransactionID] {
        guard transactions[tx] != nil else { return [] }
        undo(tx)
        transactions[tx] = nil
        return waiters(of: tx)
    }

    /// An error inside the transaction: PostgreSQL releases its locks and discards its writes at
    /// once, and refuses every further statement until the client rolls back.
    @discardableResult
    public func abort(_ tx: TransactionID) -> [TransactionID] {
        guard transactions[tx] != nil else { return [] }
        undo(tx)
        transactions[tx]?.status = .aborted
        transactions[tx]?.waitingFor = nil
        return waiters(of: tx)
    }

    private func undo(_ tx: TransactionID) {
        guard let state = transactions[tx] else { return }
        var removedBookings: Set<BookingID> = []
        for row in state.locked {
            switch row {
            case .availability(let key): availability.rollback(key)
            case .fence(let key): fences.rollback(key)
            case .reservation(let id): reservations.rollback(id)
            case .booking(let id):
                if bookings.rows[id]?.committed == nil {
                    removedBookings.insert(id)
                    if let requestID = bookings.visible(id, to: tx)?.requestID, requestIndex[requestID] == id {
                        requestIndex[requestID] = nil
                    }
                }
                bookings.rollback(id)
            }
        }
        if !removedBookings.isEmpty { bookingOrder.removeAll { removedBookings.contains($0) } }
        transactions[tx]?.locked = []
    }

    private func waiters(of tx: TransactionID) -> [TransactionID] {
        // Sorted: transaction ids grow with begin order and the lock queue is roughly FIFO.
        let result = transactions.filter { $0.value.waitingFor == tx }.keys.sorted()
        for id in result { transactions[id]?.waitingFor = nil }
        return result
    }

    /// `true` when following "waits for" from `tx` comes back to `tx`: a deadlock, which
    /// PostgreSQL finds `deadlock_timeout` after a transaction starts waiting.
    public func isDeadlocked(_ tx: TransactionID) -> Bool {
        var current = transactions[tx]?.waitingFor
        var steps = 0
        while let next = current, steps <= transactions.count {
            if next == tx { return true }
            current = transactions[next]?.waitingFor
            steps += 1
        }
        return false
    }

    public func waitingFor(_ tx: TransactionID) -> TransactionID? { transactions[tx]?.waitingFor }

    /// After an error PostgreSQL answers every statement with 25P02 ("current transaction is
    /// aborted"); the real adapter reports that, as the protocol says, as `.transactionClosed`.
    private func checkActive(_ tx: TransactionID) -> StoreError? {
        guard let state = transactions[tx], state.status == .active else { return .transactionClosed }
        return nil
    }

    private func block<T>(_ tx: TransactionID, on holder: TransactionID) -> StatementResult<T> {
        // Commit, rollback and abort all release a transaction's row locks, so a holder that is
        // not active means a lock leaked and waiters would wait for nobody.
        assert(transactions[holder]?.status == .active, "row lock held by \(holder), which is not an open transaction")
        transactions[tx]?.waitingFor = holder
        return .blocked(on: holder)
    }

    private func remember(_ row: RowRef, first: Bool, in tx: TransactionID) {
        if first { transactions[tx]?.locked.append(row) }
    }

    // MARK: availability

    /// `SELECT available_quantity FROM availability WHERE room_id = $1 AND date = $2`;
    /// `tx == nil` is autocommit.
    public func availableQuantity(_ key: RoomNight, in tx: TransactionID?) -> StatementResult<Int?> {
        if let tx, let error = checkActive(tx) { return .failed(error) }
        return .done(availability.visible(key, to: tx))
    }

    /// `UPDATE availability SET available_quantity = f(available_quantity) WHERE room_id = $1 AND
    /// date = $2 [AND condition]`: the shared shape of every availability write. Rows updated.
    public func updateAvailability(_ key: RoomNight, in tx: TransactionID,
                                   where condition: (Int) -> Bool = { _ in true },
                                   set newValue: (Int) -> Int) -> StatementResult<Int> {
        if let error = checkActive(tx) { return .failed(error) }
        if let holder = availability.lockHolder(key, otherThan: tx) { return block(tx, on: holder) }
        guard let current = availability.visible(key, to: tx) else { return .done(0) }
        guard condition(current) else { return .done(0) }
        // No CHECK (available_quantity >= 0), as in the seed's schema: an oversold night shows
        // as a negative quantity for the checker to find.
        remember(.availability(key), first: availability.write(key, newValue(current), by: tx), in: tx)
        return .done(1)
    }

    // MARK: fences and reservations

    /// `INSERT INTO fences ... ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token
    /// WHERE fences.token <= EXCLUDED.token RETURNING token`. Locks the row either way, as
    /// PostgreSQL's ON CONFLICT DO UPDATE does.
    public func advanceFence(_ resource: String, to token: Int, in tx: TransactionID) -> StatementResult<Bool> {
        if let error = checkActive(tx) { return .failed(error) }
        if let holder = fences.lockHolder(resource, otherThan: tx) { return block(tx, on: holder) }
        let current = fences.visible(resource, to: tx)
        let advances = current.map { $0 <= token } ?? true
        remember(.fence(resource), first: fences.write(resource, advances ? token : current, by: tx), in: tx)
        return .done(advances)
    }

    /// `INSERT INTO reservations ... ON CONFLICT (request_id) DO NOTHING`: whether it inserted.
    public func recordReservation(_ requestID: RequestID, stay: Stay, in tx: TransactionID) -> StatementResult<Bool> {
        if let error = checkActive(tx) { return .failed(error) }
        if let holder = reservations.lockHolder(requestID, otherThan: tx) { return block(tx, on: holder) }
        guard reservations.visible(requestID, to: tx) == nil else { return .done(false) }
        remember(.reservation(requestID), first: reservations.write(requestID, stay, by: tx), in: tx)
        return .done(true)
    }

    /// `DELETE FROM reservations WHERE request_id = $1`: whether a row went.
    public func removeReservation(_ requestID: RequestID, in tx: TransactionID) -> StatementResult<Bool> {
        if let error = checkActive(tx) { return .failed(error) }
        if let holder = reservations.updateBlocker(requestID, for: tx) { return block(tx, on: holder) }
        guard reservations.visible(requestID, to: tx) != nil else { return .done(false) }
        remember(.reservation(requestID), first: reservations.write(requestID, nil, by: tx), in: tx)
        return .done(true)
    }

    // MARK: bookings

    /// `INSERT INTO bookings (...) VALUES (...) RETURNING *`.
    public func insertBooking(_ booking: NewBooking, in tx: TransactionID) -> StatementResult<Booking> {
        if let error = checkActive(tx) { return .failed(error) }
        if let requestID = booking.requestID, let existing = requestIndex[requestID] {
            // The unique check waits for any other transaction writing the row that holds the
            // key: its insert may roll back, and an update in progress (PostgreSQL waits on the
            // row's xmax) may change it; then it looks again.
            if let holder = bookings.lockHolder(existing, otherThan: tx) {
                return block(tx, on: holder)
            }
            return .failed(.uniqueViolation(constraint: "bookings_request_id_key"))
        }
        // A sequence's nextval is not transactional: a rolled-back insert leaves a gap.
        let id = BookingID(nextBookingID)
        nextBookingID += 1
        let row = Booking(id: id, userID: booking.userID, room: booking.stay.room, checkIn: booking.stay.checkIn,
                          checkOut: booking.stay.checkOut, status: booking.status, requestID: booking.requestID,
                          fencingToken: booking.fencingToken)
        remember(.booking(id), first: bookings.write(id, row, by: tx), in: tx)
        bookingOrder.append(id)
        if let requestID = booking.requestID { requestIndex[requestID] = id }
        return .done(row)
    }

    /// `UPDATE bookings SET status = $3 WHERE id = $1 AND status = $2`: whether it changed.
    public func setStatus(of id: BookingID, from old: BookingStatus, to new: BookingStatus, in tx: TransactionID) -> StatementResult<Bool> {
        if let error = checkActive(tx) { return .failed(error) }
        if let holder = bookings.updateBlocker(id, for: tx) { return block(tx, on: holder) }
        guard var row = bookings.visible(id, to: tx), row.status == old else { return .done(false) }
        row.status = new
        remember(.booking(id), first: bookings.write(id, row, by: tx), in: tx)
        return .done(true)
    }

    /// Bookings in id order as `tx` (or an autocommit statement) sees them.
    public func bookings(visibleTo tx: TransactionID? = nil) -> [Booking] {
        bookingOrder.compactMap { bookings.visible($0, to: tx) }
    }

    /// `SELECT ... FROM bookings WHERE request_id = $1`, autocommit.
    public func booking(requestID: RequestID) -> Booking? {
        requestIndex[requestID].flatMap { bookings.visible($0, to: nil) }
    }

    // MARK: State for checkers

    /// Committed availability, sorted by room and night.
    public var committedAvailability: [(RoomNight, Int)] {
        availabilityKeys.compactMap { key in availability.visible(key, to: nil).map { (key, $0) } }
    }

    public func committedQuantity(_ key: RoomNight) -> Int? { availability.visible(key, to: nil) }

    /// Committed reservations by request id, sorted.
    public var committedReservations: [(RequestID, Stay)] { reservations.committedEntries.sorted { $0.0 < $1.0 } }

    public var openTransactions: [TransactionID] { transactions.keys.sorted() }
}
