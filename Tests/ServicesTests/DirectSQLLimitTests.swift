import Backends
import BookingCore
import Foundation
@testable import RealHarness
import Testing

/// `bench-real`'s yardstick: the saga's writes straight over libpq book exactly what the
/// inventory holds, and leave the databases as the services would.
@Suite struct DirectSQLLimitTests {
    @Test func theSagasWritesBookWhatTheInventoryHoldsAndNoMore() async throws {
        // 2 room-nights of capacity 10, 25 users for them: 20 confirmed, 5 cancelled.
        var scenario = RealBenchmark.roomNights(2, firstRoom: 501, variant: .lockFree, spread: .zero)
        scenario.users[0].count = 15
        // On the shared test servers (fresh databases, a Redis database of its own): a suite
        // that starts throwaway servers of its own runs beside BackendFailureTests, whose
        // restarts free their ports for a moment.
        let server = try TestServers.postgresURL()
        let admin = try PostgresPool(url: server, poolSize: 1)
        let names = [TestServers.uniqueName("direct_inventory"), TestServers.uniqueName("direct_booking")]
        for name in names { try await PostgresAdmin.createDatabase(named: name, on: admin) }
        let redis = try TestServers.redisURL().replacingOccurrences(of: "/9", with: "/4")
        let stack = try await RealStack.start(BackendLocations(redisURL: redis, inventoryDatabaseURL: try ServiceFixture.databaseURL(server, names[0]),
                                                               bookingDatabaseURL: try ServiceFixture.databaseURL(server, names[1])),
                                              users: scenario.userCount, progress: { _ in })
        do {
            try await stack.seed(scenario)
            let result = try await DirectSQLLimit.measure(scenario, on: stack, inventoryConnections: 2, bookingConnections: 3)
            #expect(result.attempts == 25)
            #expect(result.bookings == 20)
            #expect(result.duration > 0 && result.bookingsPerSecond > 0)
            let rows = try await PostgresBookingDatabase(pool: stack.bookingPool).allBookings()
            #expect(rows.filter { $0.status == .confirmed }.count == 20)
            #expect(rows.filter { $0.status == .cancelled }.count == 5)
            #expect(rows.allSatisfy { $0.status != .pending })
            let inventory = PostgresInventoryDatabase(pool: stack.inventoryPool)
            for room in scenario.rooms {
                #expect(try await inventory.availableQuantity(RoomNight(room: room.id, night: scenario.inventoryNights[0])) == 0)
            }
        } catch {
            await stack.shutdown()
            for name in names { try? await PostgresAdmin.dropDatabase(named: name, on: admin) }
            await admin.close()
            throw error
        }
        await stack.shutdown()
        for name in names { try? await PostgresAdmin.dropDatabase(named: name, on: admin) }
        await admin.close()
    }
}
