import Backends
import BookingCore
import Synchronization
import Testing

@Suite("PostgresPool against a real PostgreSQL", .timeLimit(.minutes(1)))
struct PostgresPoolTests {
    @Test func poolBoundIsRespected() async throws {
        let application = TestServers.uniqueName("overbook-pool")
        try await withTestDatabase(poolSize: 2, applicationName: application) { db in
            let first = try await db.pool.begin()
            let second = try await db.pool.begin()

            let thirdBegan = Flag()
            let third = Task {
                let transaction = try await db.pool.begin()
                thirdBegan.set()
                return transaction
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!thirdBegan.isSet, "a third transaction must wait while both connections are in use")
            #expect(try await connections(of: application, in: db) == 2)

            try await first.commit()
            let thirdTransaction = try await third.value
            #expect(thirdBegan.isSet)
            await second.rollback()
            await thirdTransaction.rollback()

            // A burst of autocommit statements queues for the two connections.
            let observed = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let rows = try await db.pool.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND pg_sleep(0.02) IS NOT NULL",
                            [.text(application)])
                        return Int(rows.rows[0][0] ?? "") ?? -1
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(observed.allSatisfy { (1...2).contains($0) }, "connections seen: \(observed)")
        }
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        try await withTestDatabase(poolSize: 1) { db in
            let holder = try await db.pool.begin()
            let order = OrderLog()
            var waiters: [Task<Void, any Error>] = []
            for index in 0..<5 {
                waiters.append(Task {
                    let transaction = try await db.pool.begin()
                    order.append(index)
                    await transaction.rollback()
                })
                // Let each waiter reach the queue before the next one starts.
                try await Task.sleep(for: .milliseconds(50))
            }
            await holder.rollback()
            for waiter in waiters { try await waiter.value }
            #expect(order.values == [0, 1, 2, 3, 4])
        }
    }

    @Test func aBrokenConnectionIsReplaced() async throws {
        try await withTestDatabase(poolSize: 1) { db in
            let transaction = try await db.pool.begin()
            try await db.terminate(backendPID: transaction.backendPID)
            let result = await outcome { () async throws(StoreError) in try await transaction.execute("SELECT 1") }
            guard case .failure(.connectionLost) = result else {
                Issue.record("expected .connectionLost, got \(result)")
                return
            }
            await #expect(throws: StoreError.transactionClosed) { try await transaction.commit() }
            // The slot reconnects: the pool of one is usable again.
            #expect(try await db.pool.execute("SELECT 1").rows == [["1"]])
            let next = try await db.pool.begin()
            #expect(next.backendPID != transaction.backendPID)
            try await next.commit()
        }
    }

    @Test func anIdleConnectionKilledByTheServerIsReplacedTransparently() async throws {
        try await withTestDatabase(poolSize: 1) { db in
            let pid = try await db.pool.execute("SELECT pg_backend_pid()").int(row: 0, column: 0)
            try await db.terminate(backendPID: pid)
            // A read-only statement on a stale connection is retried once on a fresh one.
            #expect(try await db.inventory.availableQuantity(ContractFixture.contested) == 1)
            let transaction = try await db.inventory.begin()
            await transaction.rollback()
        }
    }

    @Test func statementTimeoutIsTyped() async throws {
        try await withTestDatabase { db in
            // A pool of its own, so the short timeout cannot hit the migrations.
            let impatient = PostgresPool(configuration: try PostgresConfiguration(
                url: try TestServers.postgresURL(), database: db.name, poolSize: 1, settings: ["statement_timeout": "100ms"]))
            await #expect(throws: StoreError.statementTimeout) {
                _ = try await impatient.execute("SELECT pg_sleep(2)")
            }
            await impatient.close()
        }
    }

    @Test func blockingCallsStayOffTheCooperativePool() async throws {
        // Twenty statements that each block their connection, on a machine whose cooperative
        // pool may have two threads: if the blocking ran there, at most two would be in the
        // server at once; off the pool all twenty are. They wait on an advisory lock this test
        // holds until it has counted them in the server itself (pg_stat_activity, from another
        // connection), so however slow a loaded machine is, none can finish before it is seen.
        try await withTestDatabase(poolSize: 22) { db in
            let holder = try await db.pool.begin()
            _ = try await holder.execute("SELECT pg_advisory_xact_lock(4242)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try await db.pool.execute("SELECT pg_advisory_xact_lock_shared(4242) AS overbook_blocking_test") }
                }
                var most = 0
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(60))
                while most < 20, clock.now < deadline {
                    let rows = try await db.pool.execute("""
                        SELECT count(*) FROM pg_stat_activity
                        WHERE query = 'SELECT pg_advisory_xact_lock_shared(4242) AS overbook_blocking_test' AND wait_event_type = 'Lock'
                        """)
                    most = max(most, try rows.int(row: 0, column: 0))
                    try await Task.sleep(for: .milliseconds(20))
                }
                await holder.rollback()
                #expect(most == 20, "statements blocking at once: \(most)")
                try await group.waitForAll()
            }
        }
    }

    /// A query or change is prepared once per connection and then only executed; a new
    /// connection (after the old one was killed) prepares afresh instead of naming a statement
    /// the new server process never saw.
    @Test func statementsArePreparedOncePerConnection() async throws {
        try await withTestDatabase(poolSize: 1) { db in
            for value in 1...3 { #expect(try await db.pool.execute("SELECT $1::int + 1 AS next", [.int(value)]).rows == [["\(value + 1)"]]) }
            let listing = "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int + 1%' ORDER BY statement"
            #expect(try await db.pool.execute(listing).rows == [["SELECT $1::int + 1 AS next"]], "prepared once for three executions")
            let pid = try await db.pool.execute("SELECT pg_backend_pid()").int(row: 0, column: 0)
            try await db.terminate(backendPID: pid)
            // The first statement after the kill finds the connection gone; the next connects afresh.
            await #expect(throws: StoreError.self) { _ = try await db.pool.execute("SELECT $1::int + 1 AS next", [.int(9)]) }
            #expect(try await db.pool.execute("SELECT $1::int + 1 AS next", [.int(9)]).rows == [["10"]])
            #expect(try await db.pool.execute(listing).rows == [["SELECT $1::int + 1 AS next"]])
            // Transaction control and utility statements are never prepared.
            let transaction = try await db.pool.begin()
            _ = try await transaction.execute("SET LOCAL statement_timeout = 5000")
            try await transaction.commit()
            #expect(try await db.pool.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SET %' OR statement LIKE 'BEGIN%' OR statement LIKE 'COMMIT%'").rows == [["0"]])
        }
    }

    @Test func downServerIsATypedErrorThatSaysWhatToDo() async throws {
        let pool = try PostgresPool(url: "postgresql://overbook@127.0.0.1:1/postgres", poolSize: 1)
        let result = await outcome { () async throws(StoreError) in try await PostgresInventoryDatabase(pool: pool).rooms() }
        guard case .failure(let error) = result, case .connectionLost(let detail) = error else {
            Issue.record("expected .connectionLost, got \(result)")
            return
        }
        #expect(detail.contains("check that PostgreSQL is running"))
        await #expect(throws: StoreError.self) { _ = try await PostgresBookingDatabase(pool: pool).begin() }
    }

    @Test func badConfigurationFailsFast() {
        #expect(throws: BackendConfigurationError.self) { try PostgresConfiguration(url: "postgresql://host/db?no_such_option=1") }
        #expect(throws: BackendConfigurationError.self) { try PostgresConfiguration(url: "postgresql://host/db", poolSize: 0) }
        #expect(throws: BackendConfigurationError.self) {
            try PostgresConfiguration(url: "postgresql://host/db", settings: ["statement_timeout; DROP": "1"])
        }
    }

    @Test func databaseNamesMustBePlain() async throws {
        let pool = try PostgresPool(url: try TestServers.postgresURL(), poolSize: 1)
        await #expect(throws: StoreError.self) { try await PostgresAdmin.createDatabase(named: "x\"; DROP DATABASE postgres; --", on: pool) }
    }

    private func connections(of application: String, in db: TestDatabase) async throws -> Int {
        try await db.admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            .int(row: 0, column: 0)
    }
}

final class OrderLog: Sendable {
    private let state = Mutex<[Int]>([])
    func append(_ value: Int) { state.withLock { $0.append(value) } }
    var values: [Int] { state.withLock { $0 } }
}
