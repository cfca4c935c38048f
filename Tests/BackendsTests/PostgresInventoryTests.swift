import Backends
import BookingCore
import Testing

// The behaviours both the real and the simulated database must show are contract scenarios
// (Tests/ContractTests); these tests are about the real adapter and its schema.
@Suite("PostgresInventoryDatabase against a real PostgreSQL", .timeLimit(.minutes(1)))
struct PostgresInventoryTests {
    /// A transaction dropped without commit or rollback (a cancelled handler) is rolled back
    /// and its connection returned: with a pool of one, the next transaction could not even
    /// begin otherwise, and its UPDATE would wait on the leaked row lock.
    @Test func abandonedTransactionRollsBackAndFreesItsConnection() async throws {
        try await withTestDatabase(poolSize: 1) { db in
            let inventory = db.inventory
            do {
                let abandoned = try await inventory.begin()
                #expect(try await abandoned.decrementIfAvailable(ContractFixture.contested, by: 1))
            }
            let next = try await inventory.begin()
            #expect(try await next.decrementIfAvailable(ContractFixture.contested, by: 1))
            try await next.commit()
            #expect(try await inventory.availableQuantity(ContractFixture.contested) == 0)
        }
    }

    @Test func migrationsAndSeedingAreIdempotent() async throws {
        try await withTestDatabase { db in
            let inventory = db.inventory
            let tx = try await inventory.begin()
            #expect(try await tx.decrementIfAvailable(ContractFixture.roomy, by: 2))
            try await tx.commit()

            // Again, and twice at once: nothing fails, nothing changes.
            try await InventorySchema.migrate(db.pool)
            async let one: Void = InventorySchema.migrate(db.pool)
            async let two: Void = InventorySchema.migrate(db.pool)
            _ = try await (one, two)
            try await InventorySchema.seed(db.pool, rooms: ContractFixture.rooms, nights: ContractFixture.nights)
            try await InventorySchema.seed(inventory, rooms: ContractFixture.rooms, nights: ContractFixture.nights)

            #expect(try await inventory.rooms() == ContractFixture.rooms.map(\.room))
            #expect(try await inventory.availableQuantity(ContractFixture.roomy) == 3, "re-seeding must not overwrite live counts")
            let count = try await db.pool.execute("SELECT count(*) FROM availability")
            #expect(count.rows == [[String(ContractFixture.rooms.count * ContractFixture.nights.count)]])

            let reservation = try await inventory.begin()
            #expect(try await reservation.recordReservation(RequestID("request-1"), stay: ContractFixture.stay))
            try await reservation.commit()

            try await InventorySchema.reset(inventory)
            #expect(try await inventory.availableQuantity(ContractFixture.roomy) == ContractFixture.roomyRoom.capacity)
            let afterReset = try await inventory.begin()
            #expect(try await afterReset.recordReservation(RequestID("request-1"), stay: ContractFixture.stay), "reset forgets reservations")
            await afterReset.rollback()
        }
    }

    @Test func seedsTheSeedExperimentsRooms() async throws {
        try await withTestDatabase { db in
            let scenario = Scenario.seedExperiment()
            let rooms = RoomSpec.seedRooms.filter { $0.id.rawValue > 2 }  // 1 and 2 are in the fixture
            try await InventorySchema.seed(db.pool, rooms: rooms, nights: scenario.inventoryNights)
            let inventory = db.inventory
            #expect(try await inventory.rooms().map(\.id) == [1, 2, 3, 4].map(RoomID.init))
            #expect(try await inventory.availableQuantity(RoomNight(room: RoomID(3), night: scenario.inventoryNights[29])) == 3)
            #expect(try await inventory.availableQuantity(RoomNight(room: RoomID(4), night: scenario.inventoryNights[0])) == 2)
        }
    }

    @Test func schemaRejectsANegativeCapacity() async throws {
        try await withTestDatabase { db in
            await #expect(throws: StoreError.server(sqlstate: "23514", message: "new row for relation \"rooms\" violates check constraint \"rooms_total_quantity_check\"")) {
                try await InventorySchema.seed(db.pool, rooms: [RoomSpec(id: RoomID(9), name: "Broken", capacity: -1)], nights: ContractFixture.nights)
            }
        }
    }
}
