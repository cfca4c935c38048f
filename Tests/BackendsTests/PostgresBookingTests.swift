import Backends
import BookingCore
import Testing

// The behaviours both the real and the simulated database must show are contract scenarios
// (Tests/ContractTests); these tests are about the real adapter and its schema.
@Suite("PostgresBookingDatabase against a real PostgreSQL", .timeLimit(.minutes(1)))
struct PostgresBookingTests {
    @Test func valuesAreParametersNeverSQL() async throws {
        try await withTestDatabase { db in
            let hostile = UserID("user'); DROP TABLE bookings; --")
            let transaction = try await db.bookings.begin()
            let booking = try await transaction.insert(NewBooking(userID: hostile, stay: ContractFixture.stay, requestID: RequestID("$1 'x'")))
            try await transaction.commit()
            #expect(try await db.bookings.bookings(userID: hostile) == [booking])
            #expect(try await db.bookings.allBookings().count == 1)
        }
    }

    @Test func aNulByteIsRefusedNotTruncated() async throws {
        try await withTestDatabase { db in
            let transaction = try await db.bookings.begin()
            await #expect(throws: StoreError.self) {
                _ = try await transaction.insert(NewBooking(userID: UserID("user\u{0}1"), stay: ContractFixture.stay))
            }
            await transaction.rollback()
            #expect(try await db.bookings.allBookings() == [])
        }
    }

    @Test func migrationIsIdempotentAndResetEmptiesTheTable() async throws {
        try await withTestDatabase { db in
            let transaction = try await db.bookings.begin()
            _ = try await transaction.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay))
            try await transaction.commit()

            try await BookingSchema.migrate(db.pool)
            try await BookingSchema.migrate(db.bookings)
            #expect(try await db.bookings.allBookings().count == 1)

            try await BookingSchema.reset(db.bookings)
            #expect(try await db.bookings.allBookings() == [])
            let again = try await db.bookings.begin()
            let first = try await again.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            try await again.commit()
            #expect(first.id == BookingID(1), "reset restarts the ids")
        }
    }

    @Test func checkOutMustFollowCheckIn() async throws {
        try await withTestDatabase { db in
            let result = await outcome { () async throws(StoreError) in
                try await db.pool.execute(
                    "INSERT INTO bookings (user_id, room_id, check_in, check_out) VALUES ($1, $2, $3, $3)",
                    ["user_1", 1, .date(ContractFixture.nights[0])])
            }
            guard case .failure(.server(let sqlstate, _)) = result else {
                Issue.record("expected a check violation, got \(result)")
                return
            }
            #expect(sqlstate == "23514")
        }
    }
}
