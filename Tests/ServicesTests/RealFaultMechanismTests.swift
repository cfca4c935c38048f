import Backends
import BookingCore
import Foundation
@testable import RealHarness
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real fault mechanisms, each against the real servers, asserting its effect there (the
/// end-to-end runs through `overbook real` are in Tests/OverbookTests/RealFaultsCommandTests).
@Suite(.serialized) struct RealFaultMechanismTests {
    /// connection-loss: `pg_terminate_backend` of the connections behind a proxy rolls their
    /// open transaction back; a connection that does not go through the proxy is untouched.
    @Test func terminatingTheBackendsBehindAProxyRollsTheOpenTransactionBack() async throws {
        let server = try TestServers.postgresURL()
        let name = TestServers.uniqueName("faults_connloss")
        let admin = try PostgresPool(url: server, poolSize: 1)
        try await PostgresAdmin.createDatabase(named: name, on: admin)
        let url = try ServiceFixture.databaseURL(server, name)
        let direct = try PostgresPool(url: url, poolSize: 1)
        let (proxy, proxiedURL) = try await HopProxies.proxy(in: url, what: "the test database")
        let proxied = try PostgresPool(url: proxiedURL, poolSize: 1)
        do {
            _ = try await direct.execute("CREATE TABLE held (id int)")
            let transaction = try await proxied.begin()
            _ = try await transaction.execute("INSERT INTO held VALUES (1)")
            let pids = try await RealFaultInjector.terminateBackends(behind: proxy, using: direct)
            #expect(pids.count == 1)
            await #expect(throws: StoreError.self) { try await transaction.commit() }
            #expect(try await direct.execute("SELECT count(*) FROM held").int(row: 0, column: 0) == 0)
            // The pool behind the proxy connects again for the next transaction (as a service's does).
            let next = try await proxied.begin()
            #expect(try await next.execute("SELECT count(*) FROM held").int(row: 0, column: 0) == 0)
            await next.rollback()
        } catch {
            await proxied.close(); await direct.close(); await proxy.stop()
            try? await PostgresAdmin.dropDatabase(named: name, on: admin)
            await admin.close()
            throw error
        }
        await proxied.close(); await direct.close(); await proxy.stop()
        try? await PostgresAdmin.dropDatabase(named: name, on: admin)
        await admin.close()
    }

    /// A fresh database with `CREATE TABLE rows (id int PRIMARY KEY, n int)` holding ids 1 and
    /// 2; `body` gets a plain pool and one whose statements meet `faults`.
    static func withStatementFaults(_ label: String, _ faults: StatementFaults,
                                    _ body: (_ direct: PostgresPool, _ faulty: PostgresPool) async throws -> Void) async throws {
        let server = try TestServers.postgresURL()
        let name = TestServers.uniqueName(label)
        let admin = try PostgresPool(url: server, poolSize: 1)
        try await PostgresAdmin.createDatabase(named: name, on: admin)
        let url = try ServiceFixture.databaseURL(server, name)
        let direct = try PostgresPool(url: url, poolSize: 2)
        let faulty = PostgresPool(configuration: try PostgresConfiguration(url: url, poolSize: 2), statementFaults: faults)
        do {
            _ = try await direct.execute("CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL)")
            _ = try await direct.execute("INSERT INTO rows VALUES (1, 0), (2, 0)")
            try await body(direct, faulty)
        } catch {
            Issue.record(error)
        }
        await faulty.close(); await direct.close()
        try? await PostgresAdmin.dropDatabase(named: name, on: admin)
        await admin.close()
    }

    /// postgres-abort per statement: PostgreSQL itself aborts the transaction with the SQLSTATE
    /// (40001, then 40P01): the statement's write is not made, the transaction is over, and
    /// once the limit is spent statements run as usual.
    @Test func anArmedAbortMakesPostgreSQLAbortTheTransaction() async throws {
        let faults = StatementFaults()
        try faults.arm([StatementFaultRule(kind: .postgresAbort, numerator: 1, denominator: 1, limit: 2)], seed: 1)
        try await Self.withStatementFaults("faults_abort", faults) { direct, faulty in
            for expected in [StoreError.serializationFailure, .deadlockDetected] {
                let transaction = try await faulty.begin()
                await #expect(throws: expected) { try await transaction.execute("UPDATE rows SET n = n + 1 WHERE id = 1") }
                await #expect(throws: StoreError.transactionClosed) { try await transaction.commit() }
            }
            #expect(try await direct.execute("SELECT n FROM rows WHERE id = 1").int(row: 0, column: 0) == 0)
            try await faulty.withTransaction { transaction throws(StoreError) in
                _ = try await transaction.execute("UPDATE rows SET n = n + 1 WHERE id = 1")
            }
            #expect(try await direct.execute("SELECT n FROM rows WHERE id = 1").int(row: 0, column: 0) == 1)
            #expect(faults.firings.kept.map(\.sqlstate) == ["40001", "40P01"])
        }
    }

    /// connection-loss per statement: the statement's backend terminates itself, so its open
    /// transaction rolls back and the server process is gone; the pool connects again.
    @Test func anArmedConnectionLossEndsTheBackend() async throws {
        let faults = StatementFaults()
        try faults.arm([StatementFaultRule(kind: .connectionLoss, numerator: 1, denominator: 1, limit: 1)], seed: 1)
        try await Self.withStatementFaults("faults_stmtloss", faults) { direct, faulty in
            let transaction = try await faulty.begin()
            let pid = transaction.backendPID
            await #expect(throws: StoreError.self) { try await transaction.execute("UPDATE rows SET n = 5 WHERE id = 1") }
            let alive = try await direct.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", [.text(String(pid))])
            #expect(try alive.int(row: 0, column: 0) == 0, "the backend is gone")
            #expect(try await direct.execute("SELECT n FROM rows WHERE id = 1").int(row: 0, column: 0) == 0)
            #expect(try await faulty.execute("SELECT count(*) FROM rows").int(row: 0, column: 0) == 2)
            #expect(faults.firings.kept.map(\.kind) == [.connectionLoss])
        }
    }

    /// statement-timeout per statement: a statement blocked on a row lock the driver holds is
    /// cancelled by the server after statement_timeout (57014); one that is not blocked
    /// finishes in time; and the timeout is lifted after its one statement.
    @Test func aStatementTimeoutCancelsOnlyAStatementReallyBlockedOnARowLock() async throws {
        let faults = StatementFaults()
        try faults.arm([StatementFaultRule(kind: .statementTimeout, numerator: 1, denominator: 1, limit: 2, timeoutMs: 200)], seed: 1)
        try await Self.withStatementFaults("faults_stmttimeout", faults) { direct, faulty in
            let holder = try await direct.begin()
            _ = try await holder.execute("SELECT n FROM rows WHERE id = 1 FOR UPDATE")
            let blocked = try await faulty.begin()
            let started = ContinuousClock.now
            await #expect(throws: StoreError.statementTimeout) { try await blocked.execute("UPDATE rows SET n = 7 WHERE id = 1") }
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            let free = try await faulty.begin()
            _ = try await free.execute("UPDATE rows SET n = 3 WHERE id = 2")
            #expect(try await free.execute("SHOW statement_timeout").rows.first?.first == "0", "lifted after its statement")
            try await free.commit()
            try await holder.commit()
            #expect(faults.firings.kept.map(\.sqlstate) == ["57014", nil])
            #expect(try await direct.execute("SELECT string_agg(n::text, ',' ORDER BY id) FROM rows").rows.first?.first == "0,3")
        }
    }

    /// redis-restart: the throwaway redis-server killed and started again on its port comes
    /// back empty: every key lost, including one with no TTL.
    /// redis-failover: a replica fed through a link that holds the stream back misses the
    /// primary's last writes; promoted, it has the older lock and not the newer, which a second
    /// holder then takes. The lag is long enough that a full suite's load on 2 cores cannot
    /// stretch the write and the promotion past it (with 3 s, one run in many saw the newer
    /// lock arrive).
    @Test func aFailoverLosesTheLastLockWrite() async throws {
        let directory = try ThrowawayServers.makeDirectory(readableBy: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (redis, url) = try await ThrowawayServers.startRedis(tools: try ThrowawayServers.ServerTools.find(), directory: directory)
        let replica = try await ThrowawayServers.startLaggingReplica(ofPort: try #require(URLComponents(string: url)?.port),
                                                                     lag: .seconds(6), directory: directory)
        let primary = try RedisLockService(url: url, commandTimeout: .seconds(1), connections: 1)
        let promoted = try RedisLockService(url: replica.url, commandTimeout: .seconds(1), connections: 1)
        do {
            #expect(try await primary.acquire(key: "lock:older", token: "t1", ttl: .seconds(60)))
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(20))
            while try await promoted.holder(of: "lock:older") == nil, clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await promoted.holder(of: "lock:older") == "t1", "replicated once the lag has passed")
            #expect(try await primary.acquire(key: "lock:newer", token: "t2", ttl: .seconds(60)))
            try await replica.promote()
            #expect(try await promoted.holder(of: "lock:older") == "t1")
            #expect(try await promoted.holder(of: "lock:newer") == nil, "written within the lag: lost in the failover")
            #expect(try await promoted.acquire(key: "lock:newer", token: "t3", ttl: .seconds(60)), "a second holder takes the lost lock")
        } catch {
            Issue.record(error)
        }
        await primary.close()
        await promoted.close()
        await replica.stop()
        await stopChild(redis, signal: SIGKILL, grace: .seconds(2))
    }

    /// A throwaway redis-server and a one-connection lock service on it; `restart` kills the
    /// server and starts a fresh one on the same port after the downtime, and returns the old
    /// process. Everything is stopped afterwards, whatever `body` does.
    static func withRestartableRedis(_ body: (_ lock: RedisLockService, _ url: String,
                                              _ restart: (Duration) async throws -> Process) async throws -> Void) async throws {
        let directory = try ThrowawayServers.makeDirectory(readableBy: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (redis, url) = try await ThrowawayServers.startRedis(tools: try ThrowawayServers.ServerTools.find(), directory: directory)
        let port = try #require(URLComponents(string: url)?.port)
        let lock = try RedisLockService(url: url, commandTimeout: .seconds(1), connections: 1)
        var fresh: Process?
        do {
            try await body(lock, url) { downtime in
                fresh = try await ThrowawayServers.restart(redis, port: port, directory: directory, downtime: downtime)
                return redis
            }
        } catch {
            Issue.record(error)
        }
        await lock.close()
        await stopChild(redis, signal: SIGKILL)
        if let fresh { await stopChild(fresh) }
    }

    @Test func aRedisRestartLosesEveryKey() async throws {
        try await Self.withRestartableRedis { lock, url, restart in
            #expect(try await lock.acquire(key: "lock:restart-test", token: "t1", ttl: .seconds(60)))
            #expect(try await lock.acquire(key: "fence:restart-test", token: "t2", ttl: .seconds(3600)))
            let started = ContinuousClock.now
            let old = try await restart(.milliseconds(200))
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(!old.isRunning)
            // Same URL, a new server, nothing in it.
            let after = try RedisLockService(url: url, commandTimeout: .seconds(1), connections: 1)
            #expect(try await after.liveKeys(matching: "*").isEmpty)
            await after.close()
        }
    }

    /// A pooled Redis connection the server closed (a restart, between two runs or during one)
    /// is replaced before the next command is sent on it, as redis-py's pool does on checkout:
    /// the first release after the restart runs instead of failing, so no lock is left held
    /// for a whole TTL by a connection that went stale.
    @Test func aConnectionClosedByARestartIsReplacedBeforeTheNextCommand() async throws {
        try await Self.withRestartableRedis { lock, _, restart in
            #expect(try await lock.acquire(key: "lock:stale", token: "t1", ttl: .seconds(60)))
            _ = try await restart(.milliseconds(50))
            #expect(try await lock.acquire(key: "lock:stale", token: "t2", ttl: .seconds(60)), "the restart lost t1's key")
            #expect(try await lock.release(key: "lock:stale", token: "t2"))
        }
    }

    /// reply-loss per call: the proxy forwards the command and drops its answer, so the work is
    /// done in Redis while the caller times out; the next connection is served as usual.
    @Test func aCallWhoseReplyIsLostIsDoneAllTheSame() async throws {
        let direct = try RedisConfiguration(url: try TestServers.redisURL(), commandTimeout: .milliseconds(800), connections: 1)
        let proxy = try await FaultProxy.start(upstreamHost: direct.host, upstreamPort: direct.port, silenceLimit: .milliseconds(300))
        var proxied = direct
        proxied.port = proxy.port
        let through = RedisLockService(configuration: proxied)
        let straight = RedisLockService(configuration: direct)
        do {
            _ = try await straight.delete(["mechanism-test:reply"])
            _ = try await through.holder(of: "mechanism-test:warm")
            let once = Mutex(true)
            proxy.onEachCall {
                guard once.withLock({ first in defer { first = false }; return first }) else { return nil }
                var fate = FaultProxy.CallFate()
                fate.losesReply = true
                return fate
            }
            await #expect(throws: LockError.self) { _ = try await through.acquire(key: "mechanism-test:reply", token: "t9", ttl: .seconds(10)) }
            #expect(try await straight.holder(of: "mechanism-test:reply") == "t9")
            #expect(try await through.holder(of: "mechanism-test:reply") == "t9")
        } catch {
            await through.close(); await straight.close(); await proxy.stop()
            throw error
        }
        await through.close(); await straight.close(); await proxy.stop()
    }
}
