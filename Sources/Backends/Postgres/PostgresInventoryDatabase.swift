import BookingCore

/// `InventoryDatabase` over PostgreSQL (`inventory_db`): exactly the statements documented on
/// the protocol, with values passed as parameters.
public final class PostgresInventoryDatabase: InventoryDatabase {
    enum SQL {
        static let availableQuantity = "SELECT available_quantity FROM availability WHERE room_id = $1 AND date = $2"
        static let rooms = "SELECT id, name, total_quantity FROM rooms ORDER BY id"
        static let setAvailableQuantity = "UPDATE availability SET available_quantity = $3 WHERE room_id = $1 AND date = $2"
        static let decrementIfAvailable = "UPDATE availability SET available_quantity = available_quantity - $3 WHERE room_id = $1 AND date = $2 AND available_quantity >= $3"
        static let increment = "UPDATE availability SET available_quantity = available_quantity + $3 WHERE room_id = $1 AND date = $2"
        static let recordReservation = "INSERT INTO reservations (request_id, room_id, check_in, check_out) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING"
        static let removeReservation = "DELETE FROM reservations WHERE request_id = $1"
    }

    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public func begin() async throws(StoreError) -> any InventoryTransaction {
        PostgresInventoryTransaction(try await pool.begin())
    }

    public func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int? {
        let result = try await pool.execute(SQL.availableQuantity, [.int(key.room.rawValue), .date(key.night)], retryIfStale: true)
        return result.rows.isEmpty ? nil : try result.int(row: 0, column: 0)
    }

    public func rooms() async throws(StoreError) -> [Room] {
        let result = try await pool.execute(SQL.rooms, [], retryIfStale: true)
        var rooms: [Room] = []
        for row in result.rows.indices {
            rooms.append(Room(id: RoomID(try result.int(row: row, column: 0)), name: try result.text(row: row, column: 1),
                              totalQuantity: try result.int(row: row, column: 2)))
        }
        return rooms
    }
}

public final class PostgresInventoryTransaction: InventoryTransaction {
    /// The underlying transaction, e.g. for its `backendPID`.
    public let transaction: PostgresTransaction

    public init(_ transaction: PostgresTransaction) {
        self.transaction = transaction
    }

    public func availableQuantity(_ key: RoomNight) async throws(StoreError) -> Int? {
        let result = try await transaction.execute(PostgresInventoryDatabase.SQL.availableQuantity, Self.parameters(key))
        return result.rows.isEmpty ? nil : try result.int(row: 0, column: 0)
    }

    public func setAvailableQuantity(_ key: RoomNight, to quantity: Int) async throws(StoreError) -> Int {
        try await transaction.execute(PostgresInventoryDatabase.SQL.setAvailableQuantity, Self.parameters(key, quantity)).affectedRows
    }

    public func decrementIfAvailable(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Bool {
        try await transaction.execute(PostgresInventoryDatabase.SQL.decrementIfAvailable, Self.parameters(key, quantity)).affectedRows > 0
    }

    public func increment(_ key: RoomNight, by quantity: Int) async throws(StoreError) -> Int {
        try await transaction.execute(PostgresInventoryDatabase.SQL.increment, Self.parameters(key, quantity)).affectedRows
    }

    public func advanceFence(_ resource: String, to token: Int) async throws(StoreError) -> Bool {
        try await Fence.advance(resource, to: token, in: transaction)
    }

    public func recordReservation(_ requestID: RequestID, stay: Stay) async throws(StoreError) -> Bool {
        try await transaction.execute(PostgresInventoryDatabase.SQL.recordReservation, [
            .text(requestID.rawValue), .int(stay.room.rawValue), .date(stay.checkIn), .date(stay.checkOut),
        ]).affectedRows > 0
    }

    public func removeReservation(_ requestID: RequestID) async throws(StoreError) -> Bool {
        try await transaction.execute(PostgresInventoryDatabase.SQL.removeReservation, [.text(requestID.rawValue)]).affectedRows > 0
    }

    public func commit() async throws(StoreError) {
        try await transaction.commit()
    }

    public func rollback() async {
        await transaction.rollback()
    }

    private static func parameters(_ key: RoomNight, _ quantity: Int? = nil) -> [PostgresValue] {
        var parameters: [PostgresValue] = [.int(key.room.rawValue), .date(key.night)]
        if let quantity { parameters.append(.int(quantity)) }
        return parameters
    }
}

/// The fencing-token check both databases run (table `fences`, in each).
enum Fence {
    /// Inserts or raises the resource's token unless a newer one is already there. PostgreSQL
    /// locks the conflicting row before it evaluates the `WHERE`, so even a refused advance holds
    /// the fence row until the transaction ends and the next writer's check sees a settled value.
    static let advance = "INSERT INTO fences (resource, token) VALUES ($1, $2) ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token WHERE fences.token <= EXCLUDED.token RETURNING token"

    static func advance(_ resource: String, to token: Int, in transaction: PostgresTransaction) async throws(StoreError) -> Bool {
        !(try await transaction.execute(advance, [.text(resource), .int(token)]).rows.isEmpty)
    }
}
