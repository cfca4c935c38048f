import Backends
import BookingCore
import Foundation
import Testing

// Shared by the real-backend tests (here) and the contract suites' real world
// (Tests/ContractTests links this file).

/// The servers the tests run against. `make test` starts throwaway Redis and PostgreSQL
/// servers and exports both variables; a missing one fails the test instead of skipping it,
/// so a green run always means the real servers were exercised.
enum TestServers {
    static let redisVariable = "OVERBOOK_TEST_REDIS_URL"
    static let postgresVariable = "OVERBOOK_TEST_POSTGRES_URL"

    struct Missing: Error, CustomStringConvertible {
        let variable: String
        let example: String
        var description: String {
            "\(variable) is not set. Run `make test`, which starts throwaway Redis and PostgreSQL servers and sets it; or start the server yourself and export it (e.g. \(variable)=\(example))."
        }
    }

    static func redisURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[redisVariable], !url.isEmpty else {
            throw Missing(variable: redisVariable, example: "redis://127.0.0.1:6390")
        }
        return url
    }

    /// A superuser URL: the tests create and drop databases and tune superuser settings.
    static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[postgresVariable], !url.isEmpty else {
            throw Missing(variable: postgresVariable, example: "postgresql://overbook@127.0.0.1:5440/postgres")
        }
        return url
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    }

    /// A lock service over the test Redis, with keys under a prefix of its own.
    static func redis(connections: Int = 2) throws -> (RedisLockService, prefix: String) {
        (try RedisLockService(url: try redisURL(), connections: connections), "overbook-test:\(uniqueName("t")):")
    }
}

/// A database created for one test and dropped after it, so tests can run in parallel.
struct TestDatabase {
    let name: String
    /// Connected to the fresh database.
    let pool: PostgresPool
    /// Connected to the server's default database, for `pg_terminate_backend` and the like.
    let admin: PostgresPool

    var inventory: PostgresInventoryDatabase { PostgresInventoryDatabase(pool: pool) }
    var bookings: PostgresBookingDatabase { PostgresBookingDatabase(pool: pool) }

    /// Ends the server process behind a transaction, as a crash or a network cut would.
    func terminate(backendPID: Int) async throws {
        let result = try await admin.execute("SELECT pg_terminate_backend($1, 5000)", [.int(backendPID)])
        #expect(result.rows == [["t"]], "pg_terminate_backend(\(backendPID)) should succeed")
    }
}

/// Runs `body` against a fresh database on the test server, migrated and seeded with the
/// contract fixture, then drops it.
///
/// Every connection gets a short `deadlock_timeout` so deadlock tests resolve quickly, and a
/// `lock_timeout` so a bug that leaves a row locked fails the test instead of hanging it.
@discardableResult
func withTestDatabase<T>(poolSize: Int = 10, applicationName: String = "overbook-tests",
                         settings: [String: String] = [:],
                         _ body: (TestDatabase) async throws -> T) async throws -> T {
    let url = try TestServers.postgresURL()
    let admin = PostgresPool(configuration: try PostgresConfiguration(url: url, poolSize: 2, applicationName: "overbook-tests-admin"))
    let name = TestServers.uniqueName("overbook_test")
    try await PostgresAdmin.createDatabase(named: name, on: admin)
    var allSettings = ["deadlock_timeout": "100ms", "lock_timeout": "20s"]
    allSettings.merge(settings) { $1 }
    let pool = PostgresPool(configuration: try PostgresConfiguration(
        url: url, database: name, poolSize: poolSize, applicationName: applicationName, settings: allSettings))
    let database = TestDatabase(name: name, pool: pool, admin: admin)
    do {
        try await InventorySchema.migrate(pool)
        try await InventorySchema.seed(pool, rooms: ContractFixture.rooms, nights: ContractFixture.nights)
        try await BookingSchema.migrate(pool)
        let value = try await body(database)
        await pool.close()
        try await PostgresAdmin.dropDatabase(named: name, on: admin)
        await admin.close()
        return value
    } catch {
        // No `pool.close()` here: it waits for open transactions, and a failed test may have
        // leaked one. DROP ... WITH (FORCE) ends those sessions instead.
        try? await PostgresAdmin.dropDatabase(named: name, on: admin)
        await admin.close()
        throw error
    }
}
