import BookingCore
import Synchronization

/// A bounded pool of PostgreSQL connections, each owned by its own thread (see
/// `BlockingThread`).
///
/// A transaction holds one connection from `begin()` to commit or rollback; an autocommit
/// statement borrows one for its duration. When all are busy, callers queue in arrival order.
/// A connection that broke is closed and the next user of its slot connects afresh, so the
/// pool heals after a server restart without growing past its bound.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    let sessions: SessionPool<PostgresSession>
    /// The per-statement faults a fault-controlled service arms; `nil` in every plain pool.
    let statementFaults: StatementFaults?
    /// Times every statement's round trip (`overbook serve --record-timings`); `nil` otherwise.
    let timer: HopTimer?

    public init(configuration: PostgresConfiguration, statementFaults: StatementFaults? = nil, timer: HopTimer? = nil) {
        self.configuration = configuration
        self.statementFaults = statementFaults
        self.timer = timer
        sessions = SessionPool(sessions: (0..<max(1, configuration.poolSize)).map {
            PostgresSession(configuration: configuration, index: $0)
        })
    }

    /// - Parameters:
    ///   - url: a libpq URL such as `postgresql://overbook@127.0.0.1:5432/postgres`.
    ///   - database: overrides the URL's database name.
    public convenience init(url: String, database: String? = nil, poolSize: Int = 10,
                            settings: [String: String] = [:]) throws(BackendConfigurationError) {
        self.init(configuration: try PostgresConfiguration(url: url, database: database, poolSize: poolSize, settings: settings))
    }

    public var size: Int { sessions.size }

    /// Runs one statement outside any transaction (autocommit) with `PQexecParams`.
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) async throws(StoreError) -> PostgresRows {
        try await execute(sql, parameters, retryIfStale: false)
    }

    /// `retryIfStale` is for statements that are harmless to run twice (plain `SELECT`s).
    func execute(_ sql: String, _ parameters: [PostgresValue], retryIfStale: Bool) async throws(StoreError) -> PostgresRows {
        let session = await sessions.acquire()
        defer { sessions.release(session) }
        let faults = statementFaults
        return try await timedRoundTrip(timer) { () async throws(StoreError) -> PostgresRows in
            try await session.thread.run { () throws(StoreError) -> PostgresRows in
                try session.execute(sql, parameters, retryIfStale: retryIfStale, faults: faults)
            }
        }
    }

    /// `BEGIN ISOLATION LEVEL READ COMMITTED`, stated explicitly so that a server whose
    /// `default_transaction_isolation` differs still gives the semantics the simulator models.
    public func begin() async throws(StoreError) -> PostgresTransaction {
        let session = await sessions.acquire()
        do throws(StoreError) {
            let (generation, pid) = try await timedRoundTrip(timer) { () async throws(StoreError) -> (Int, Int) in
                try await session.thread.run { () throws(StoreError) -> (Int, Int) in
                    _ = try session.execute("BEGIN ISOLATION LEVEL READ COMMITTED", retryIfStale: true)
                    return (session.generation, session.backendPID)
                }
            }
            statementFaults?.transactionOpened()
            return PostgresTransaction(pool: sessions, session: session, generation: generation, backendPID: pid,
                                       statementFaults: statementFaults, timer: timer)
        } catch {
            sessions.release(session)
            throw error
        }
    }

    /// Runs `body` in a transaction and commits it; rolls back if `body` throws.
    public func withTransaction<T: Sendable>(_ body: (PostgresTransaction) async throws(StoreError) -> T) async throws(StoreError) -> T {
        let transaction = try await begin()
        do throws(StoreError) {
            let value = try await body(transaction)
            try await transaction.commit()
            return value
        } catch {
            await transaction.rollback()
            throw error
        }
    }

    /// Closes every connection once it is idle (waiting for open transactions to end). The
    /// pool stays usable: the next statement reconnects.
    public func close() async {
        var closed: [PostgresSession] = []
        for _ in 0..<sessions.size {
            let session = await sessions.acquire()
            await session.thread.run { session.disconnect() }
            closed.append(session)
        }
        closed.forEach(sessions.release)
    }
}

/// An open READ COMMITTED transaction holding one pooled connection.
///
/// After any failed statement the transaction is rolled back at once and its connection
/// returned, as PostgreSQL would refuse every further statement in it anyway: later calls,
/// `commit()` included, throw `StoreError.transactionClosed`. A transaction dropped without
/// commit or rollback (a cancelled or crashed caller) is rolled back when it is released.
public final class PostgresTransaction: Sendable {
    private let pool: SessionPool<PostgresSession>
    private let session: PostgresSession
    private let generation: Int
    private let isOpen = Atomic(true)
    /// The server process serving this transaction (`pg_backend_pid()`), e.g. for
    /// `pg_terminate_backend` in fault tests.
    public let backendPID: Int
    private let statementFaults: StatementFaults?
    private let timer: HopTimer?

    init(pool: SessionPool<PostgresSession>, session: PostgresSession, generation: Int, backendPID: Int,
         statementFaults: StatementFaults?, timer: HopTimer?) {
        self.pool = pool
        self.session = session
        self.generation = generation
        self.backendPID = backendPID
        self.statementFaults = statementFaults
        self.timer = timer
    }

    deinit {
        guard isOpen.load(ordering: .acquiring) else { return }
        statementFaults?.transactionEnded()
        let (session, pool, generation) = (session, pool, generation)
        session.thread.submit {
            session.rollbackQuietly(generation: generation)
            pool.release(session)
        }
    }

    /// Runs one statement in this transaction with `PQexecParams`.
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) async throws(StoreError) -> PostgresRows {
        guard isOpen.load(ordering: .acquiring) else { throw StoreError.transactionClosed }
        return try await onSession { () throws(StoreError) -> PostgresRows in
            // Checked again on the thread: an earlier statement queued before this one may
            // have failed and closed the transaction, and its connection may already serve
            // someone else.
            guard self.isOpen.load(ordering: .acquiring) else { throw StoreError.transactionClosed }
            do throws(StoreError) {
                if let planted = self.statementFaults?.takePlantedAbort() {
                    return try self.session.execute(sql, parameters, generation: self.generation, retryIfStale: false, meeting: planted)
                }
                return try self.session.execute(sql, parameters, generation: self.generation, faults: self.statementFaults)
            } catch {
                self.end(rollingBack: true)
                throw error
            }
        }
    }

    /// `COMMIT`. The transaction is over afterwards whatever the outcome; after a lost
    /// connection the outcome is unknown (`.connectionLost`).
    public func commit() async throws(StoreError) {
        guard isOpen.load(ordering: .acquiring) else { throw StoreError.transactionClosed }
        try await onSession { () throws(StoreError) in
            guard self.isOpen.load(ordering: .acquiring) else { throw StoreError.transactionClosed }
            do throws(StoreError) {
                // A planted abort strikes in place of the COMMIT, which then rolls back.
                if let planted = self.statementFaults?.takePlantedAbort() {
                    _ = try self.session.execute("COMMIT", [], generation: self.generation, retryIfStale: false, meeting: planted)
                }
                _ = try self.session.execute("COMMIT", generation: self.generation)
                self.end(rollingBack: false)
            } catch {
                self.end(rollingBack: true)
                throw error
            }
        }
    }

    /// `ROLLBACK`; a no-op on a transaction that is already over.
    public func rollback() async {
        guard isOpen.load(ordering: .acquiring) else { return }
        await onSession { self.end(rollingBack: true) }
    }

    /// Runs `body` on the session's thread: one round trip to the server.
    private func onSession<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await timedRoundTrip(timer) { () async throws(E) -> T in try await session.thread.run(body) }
    }

    /// On the session's thread: closes the transaction once and hands the connection back.
    private func end(rollingBack: Bool) {
        guard isOpen.compareExchange(expected: true, desired: false, ordering: .acquiringAndReleasing).exchanged else { return }
        statementFaults?.transactionEnded()
        if rollingBack { session.rollbackQuietly(generation: generation) }
        pool.release(session)
    }
}
