import BookingCore

/// `BookingDatabase` over PostgreSQL (`booking_db`): exactly the statements documented on the
/// protocol, with values passed as parameters.
public final class PostgresBookingDatabase: BookingDatabase {
    enum SQL {
        static let columns = "id, user_id, room_id, check_in, check_out, status, request_id, fencing_token"
        static let bookingByID = "SELECT \(columns) FROM bookings WHERE id = $1"
        static let bookingsByUser = "SELECT \(columns) FROM bookings WHERE user_id = $1 ORDER BY id"
        static let allBookings = "SELECT \(columns) FROM bookings ORDER BY id"
        static let bookingByRequest = "SELECT \(columns) FROM bookings WHERE request_id = $1"
        static let pendingBookings = "SELECT \(columns) FROM bookings WHERE status = 'pending' ORDER BY id"
        static let insert = "INSERT INTO bookings (user_id, room_id, check_in, check_out, status, request_id, fencing_token) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        static let setStatus = "UPDATE bookings SET status = $3 WHERE id = $1 AND status = $2"
    }

    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public func begin() async throws(StoreError) -> any BookingTransaction {
        PostgresBookingTransaction(try await pool.begin())
    }

    public func booking(id: BookingID) async throws(StoreError) -> Booking? {
        try Self.bookings(in: try await pool.execute(SQL.bookingByID, [.int(id.rawValue)], retryIfStale: true)).first
    }

    public func bookings(userID: UserID) async throws(StoreError) -> [Booking] {
        try Self.bookings(in: try await pool.execute(SQL.bookingsByUser, [.text(userID.rawValue)], retryIfStale: true))
    }

    public func allBookings() async throws(StoreError) -> [Booking] {
        try Self.bookings(in: try await pool.execute(SQL.allBookings, [], retryIfStale: true))
    }

    public func booking(requestID: RequestID) async throws(StoreError) -> Booking? {
        try Self.bookings(in: try await pool.execute(SQL.bookingByRequest, [.text(requestID.rawValue)], retryIfStale: true)).first
    }

    public func pendingBookings() async throws(StoreError) -> [Booking] {
        try Self.bookings(in: try await pool.execute(SQL.pendingBookings, [], retryIfStale: true))
    }

    static func bookings(in result: PostgresRows) throws(StoreError) -> [Booking] {
        var bookings: [Booking] = []
        bookings.reserveCapacity(result.rows.count)
        for row in result.rows.indices {
            let statusText = try result.text(row: row, column: 5)
            guard let status = BookingStatus(rawValue: statusText) else {
                throw PostgresRows.unexpected("status '\(statusText)' is not pending, confirmed, cancelled or abandoned")
            }
            bookings.append(Booking(
                id: BookingID(try result.int(row: row, column: 0)),
                userID: UserID(try result.text(row: row, column: 1)),
                room: RoomID(try result.int(row: row, column: 2)),
                checkIn: try result.night(row: row, column: 3),
                checkOut: try result.night(row: row, column: 4),
                status: status,
                requestID: result.rows[row][6].map(RequestID.init),
                fencingToken: try result.optionalInt(row: row, column: 7)))
        }
        return bookings
    }
}

public final class PostgresBookingTransaction: BookingTransaction {
    /// The underlying transaction, e.g. for its `backendPID`.
    public let transaction: PostgresTransaction

    public init(_ transaction: PostgresTransaction) {
        self.transaction = transaction
    }

    public func insert(_ booking: NewBooking) async throws(StoreError) -> Booking {
        let result = try await transaction.execute(PostgresBookingDatabase.SQL.insert, [
            .text(booking.userID.rawValue), .int(booking.stay.room.rawValue),
            .date(booking.stay.checkIn), .date(booking.stay.checkOut), .text(booking.status.rawValue),
            .text(booking.requestID?.rawValue), .int(booking.fencingToken),
        ])
        return Booking(id: BookingID(try result.int(row: 0, column: 0)), userID: booking.userID, room: booking.stay.room,
                       checkIn: booking.stay.checkIn, checkOut: booking.stay.checkOut, status: booking.status,
                       requestID: booking.requestID, fencingToken: booking.fencingToken)
    }

    public func setStatus(of id: BookingID, from old: BookingStatus, to new: BookingStatus) async throws(StoreError) -> Bool {
        try await transaction.execute(PostgresBookingDatabase.SQL.setStatus,
                                      [.int(id.rawValue), .text(old.rawValue), .text(new.rawValue)]).affectedRows > 0
    }

    public func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool {
        try await Fence.advance(resource, to: token, in: transaction)
    }

    public func commit() async throws(StoreError) {
        try await transaction.commit()
    }

    public func rollback() async {
        await transaction.rollback()
    }
}
