import Backends
import BookingCore

/// What the databases themselves can do for a load, measured in the same run as the HTTP
/// figures so the two compare on a noisy machine: every user's writes of the crash-safe saga
/// (the booking inserted pending, the inventory's reservation recorded and its night taken by
/// the guarded `UPDATE ... WHERE available_quantity >= 1`, the booking confirmed or cancelled),
/// the same statements the services send, sent straight over libpq from this process, with as
/// many connections as the services hold (no HTTP, no Redis, no JSON, no availability reads).
public enum DirectSQLLimit {
    public struct Result: Sendable {
        public let bookings: Int
        public let attempts: Int
        /// Wall-clock nanoseconds, first statement to last commit.
        public let duration: Int64

        public var bookingsPerSecond: Double { duration > 0 ? Double(bookings) * 1e9 / Double(duration) : 0 }
    }

    /// Runs `scenario`'s users' writes at once on freshly reset databases.
    /// - Parameters:
    ///   - inventoryConnections: as the inventory service's pool holds.
    ///   - bookingConnections: as all booking replicas' pools hold together.
    public static func measure(_ scenario: Scenario, on stack: RealStack, inventoryConnections: Int, bookingConnections: Int) async throws -> Result {
        try await stack.reset()
        let inventoryPool = try PostgresPool(url: stack.inventoryDatabaseURL, poolSize: inventoryConnections)
        let bookingPool = try PostgresPool(url: stack.bookingDatabaseURL, poolSize: bookingConnections)
        // Connected before the clock starts, as the services' pools are by their warm-up round.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pool in [inventoryPool, bookingPool] {
                for _ in 0..<pool.size { group.addTask { _ = try await pool.execute("SELECT 1") } }
            }
            try await group.waitForAll()
        }
        let inventory = PostgresInventoryDatabase(pool: inventoryPool)
        let bookings = PostgresBookingDatabase(pool: bookingPool)
        let users = scenario.expandedUsers
        let start = ContinuousClock.now
        let booked = await withTaskGroup(of: Bool.self) { group in
            for (index, user) in users.enumerated() {
                group.addTask {
                    (try? await book(user, requestID: RequestID("direct-sql-\(index + 1)"), inventory: inventory, bookings: bookings)) ?? false
                }
            }
            var booked = 0
            for await confirmed in group where confirmed { booked += 1 }
            return booked
        }
        let duration = (ContinuousClock.now - start).nanoseconds
        await inventoryPool.close()
        await bookingPool.close()
        return Result(bookings: booked, attempts: users.count, duration: duration)
    }

    /// One user's three transactions; `true` if the booking ends confirmed.
    static func book(_ user: UserPlan, requestID: RequestID, inventory: PostgresInventoryDatabase,
                     bookings: PostgresBookingDatabase) async throws(StoreError) -> Bool {
        let insert = try await bookings.begin()
        let pending = try await insert.insert(NewBooking(userID: user.user, stay: user.stay, requestID: requestID, status: .pending))
        try await insert.commit()

        let reserve = try await inventory.begin()
        var reserved = try await reserve.recordReservation(requestID, stay: user.stay)
        for night in user.stay.nights where reserved {
            reserved = try await reserve.decrementIfAvailable(RoomNight(room: user.stay.room, night: night), by: 1)
        }
        if reserved { try await reserve.commit() } else { await reserve.rollback() }

        let outcome = try await bookings.begin()
        _ = try await outcome.setStatus(of: pending.id, from: .pending, to: reserved ? .confirmed : .cancelled)
        try await outcome.commit()
        return reserved
    }
}
