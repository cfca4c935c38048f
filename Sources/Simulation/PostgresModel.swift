import BookingCore

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

/// PostgreSQL at READ COMMITTED for the statements the algorithms use, as a pure state machine
/// (no time, no I/O; the async glue in `SimPostgres` adds latency, parking and deadlock timeouts).
///
/// Faithful points: a statement sees what was committed when it ran plus its own transaction's
/// writes; `UPDATE` takes a row lock held to commit; a second writer waits, then re-evaluates
/// its `WHERE` on the committed row; an error aborts the transaction and releases its locks (the
/// client still has to `ROLLBACK`); unique indexes wait on an uncommitted duplicate; sequences do
/// not roll back; a lost connection rolls back.
public final class PostgresModel {
    public let name: String

    struct VersionedRow<Value> {
        var committed: Value
        var holder: TransactionID?
        var pending: Value?
    }

    enum Status { case active, aborted }

    struct TransactionState {
        var status: Status = .active
        var lockedAvailability: [RoomNight] = []
        var insertedBookings: [BookingID] = []
        var waitingFor: TransactionID?
    }

    public private(set) var rooms: [Room]
    private var availability: [RoomNight: VersionedRow<Int>] = [:]
    /// `nil` committed value: inserted by a transaction that has not committed.
    private var bookings: [BookingID: VersionedRow<Booking?>] = [:]
    private var bookingOrder: [BookingID] = []
    private var requestIndex: [RequestID: BookingID] = [:]
    private var nextBookingID = 1
    private var transactions: [TransactionID: TransactionState] = [:]
    private var nextTransaction = 1

    public init(name: String, rooms: [Room] = [], availability: [RoomNight: Int] = [:]) {
        self.name = name
        self.rooms = rooms
        self.availability.reserveCapacity(availability.count)
        for (key, quantity) in availability {
            self.availability[key] = VersionedRow(committed: quantity)
        }
    }

    // MARK: Transactions

    public func begin() -> TransactionID {
        let id = TransactionID(rawValue: nextTransaction)
        nextTransaction += 1
        transactions[id] = TransactionState()
        return id
    }

    public func isOpen(_ tx: TransactionID) -> Bool { transactions[tx] != nil }

    /// `COMMIT`. Returns the transactions that waited on this one, oldest wait first: run their
    /// blocked statements again.
    public func commit(_ tx: TransactionID) -> StatementResult<[TransactionID]> {
        guard let state = transactions[tx] else { return .failed(.transactionClosed) }
        guard state.status == .active else {
            transactions[tx] = nil
            return .failed(.transactionClosed)
        }
        for key in state.lockedAvailability {
            if let value = availability[key]?.pending { availability[key]?.committed = value }
            availability[key]?.pending = nil
            availability[key]?.holder = nil
        }
        for id in state.insertedBookings {
            guard var row = bookings[id] else { continue }
            row.committed = row.pending ?? nil
            row.pending = nil
            row.holder = nil
            bookings[id] = row
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
        for key in state.lockedAvailability {
            availability[key]?.pending = nil
            availability[key]?.holder = nil
        }
        for id in state.insertedBookings {
            if let requestID = bookings[id]?.pending??.requestID, requestIndex[requestID] == id {
                requestIndex[requestID] = nil
            }
            bookings[id] = nil
        }
        if !state.insertedBookings.isEmpty {
            let removed = Set(state.insertedBookings)
            bookingOrder.removeAll { removed.contains($0) }
        }
        transactions[tx]?.lockedAvailability = []
        transactions[tx]?.insertedBookings = []
    }

    private func waiters(of tx: TransactionID) -> [TransactionID] {
        var result: [TransactionID] = []
        for (id, state) in transactions where state.waitingFor == tx {
            result.append(id)
        }
        for id in result { transactions[id]?.waitingFor = nil }
        // Transaction ids grow with begin order; PostgreSQL's lock queue is roughly FIFO too.
        return result.sorted()
    }

    /// The transactions `tx` waits for, following the chain; `true` when the chain returns to
    /// `tx` (a deadlock, which PostgreSQL finds after `deadlock_timeout`).
    public func isDeadlocked(_ tx: TransactionID) -> Bool {
        var current = transactions[tx]?.waitingFor
        var seen = 0
        while let next = current, seen <= transactions.count {
            if next == tx { return true }
            current = transactions[next]?.waitingFor
            seen += 1
        }
        return false
    }

    public func waitingFor(_ tx: TransactionID) -> TransactionID? { transactions[tx]?.waitingFor }

    private func checkActive(_ tx: TransactionID) -> StoreError? {
        guard let state = transactions[tx] else { return .transactionClosed }
        return state.status == .active ? nil : .server(sqlstate: "25P02", message: "current transaction is aborted, commands ignored until end of transaction block")
    }

    private func block(_ tx: TransactionID, on holder: TransactionID) -> TransactionID {
        transactions[tx]?.waitingFor = holder
        return holder
    }

    // MARK: availability

    /// `SELECT available_quantity FROM availability WHERE room_id = $1 AND date = $2`;
    /// `tx == nil` is autocommit.
    public func availableQuantity(_ key: RoomNight, in tx: TransactionID?) -> StatementResult<Int?> {
        if let tx, let error = checkActive(tx) { return .failed(error) }
        guard let row = availability[key] else { return .done(nil) }
        if let tx, row.holder == tx, let pending = row.pending { return .done(pending) }
        return .done(row.committed)
    }

    /// `UPDATE availability SET available_quantity = f(available_quantity) WHERE room_id = $1 AND
    /// date = $2 [AND condition]`: the shared shape of every availability write.
    public func updateAvailability(_ key: RoomNight, in tx: TransactionID,
                                   where condition: (Int) -> Bool = { _ in true },
                                   set newValue: (Int) -> Int) -> StatementResult<Int> {
        if let error = checkActive(tx) { return .failed(error) }
        guard let row = availability[key] else { return .done(0) }
        if let holder = row.holder, holder != tx { return .blocked(on: block(tx, on: holder)) }
        let current = row.pending ?? row.committed
        guard condition(current) else { return .done(0) }
        // No CHECK (available_quantity >= 0), as in the seed's schema: an oversold night shows
        // as a negative quantity for the checker to find.
        let value = newValue(current)
        if row.holder == nil { transactions[tx]?.lockedAvailability.append(key) }
        availability[key]?.holder = tx
        availability[key]?.pending = value
        return .done(1)
    }

    // MARK: bookings

    /// `INSERT INTO bookings (...) VALUES (...) RETURNING *`.
    public func insertBooking(_ booking: NewBooking, in tx: TransactionID) -> StatementResult<Booking> {
        if let error = checkActive(tx) { return .failed(error) }
        if let requestID = booking.requestID, let existing = requestIndex[requestID], let row = bookings[existing] {
            if let holder = row.holder, holder != tx { return .blocked(on: block(tx, on: holder)) }
            return .failed(.uniqueViolation(constraint: "bookings_request_id_key"))
        }
        // A sequence's nextval is not transactional: a rolled-back insert leaves a gap.
        let id = BookingID(nextBookingID)
        nextBookingID += 1
        let row = Booking(id: id, userID: booking.userID, room: booking.stay.room, checkIn: booking.stay.checkIn,
                          checkOut: booking.stay.checkOut, status: .confirmed, requestID: booking.requestID,
                          fencingToken: booking.fencingToken)
        bookings[id] = VersionedRow(committed: nil, holder: tx, pending: row)
        bookingOrder.append(id)
        if let requestID = booking.requestID { requestIndex[requestID] = id }
        transactions[tx]?.insertedBookings.append(id)
        return .done(row)
    }

    /// Committed bookings in id order, plus `tx`'s own uncommitted ones.
    public func bookings(visibleTo tx: TransactionID? = nil) -> [Booking] {
        bookingOrder.compactMap { id in
            guard let row = bookings[id] else { return nil }
            if let tx, row.holder == tx { return row.pending ?? nil }
            return row.committed
        }
    }

    // MARK: State for checkers

    /// Committed availability, sorted by room and night.
    public var committedAvailability: [(RoomNight, Int)] {
        availability.keys.sorted().map { ($0, availability[$0]!.committed) }
    }

    public func committedQuantity(_ key: RoomNight) -> Int? { availability[key]?.committed }

    public var openTransactions: [TransactionID] { transactions.keys.sorted() }
}
