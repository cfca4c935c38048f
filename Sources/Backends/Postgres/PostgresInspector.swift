import BookingCore

/// What a harness asks a database about itself once a run went quiet: the sessions that still
/// hold a transaction open. (Rows are read through the store protocols; this is about the
/// server, which no store models.)
public enum PostgresInspector {
    /// `pid N: <start of its last query>` for each session of this database idle in a
    /// transaction, ordered by pid.
    public static func transactionsLeftOpen(_ pool: PostgresPool) async throws(StoreError) -> [String] {
        let rows = try await pool.execute("""
            SELECT pid, coalesce(left(query, 80), '') FROM pg_stat_activity
            WHERE datname = current_database() AND state LIKE 'idle in transaction%' ORDER BY pid
            """)
        return rows.rows.map { "pid \($0[0] ?? "?"): \($0[1] ?? "")" }
    }

    /// How many sessions of this database wait for a lock another transaction holds (a row
    /// lock, mostly): what a replay waits to see where its story has a statement blocked.
    public static func sessionsWaitingForLocks(_ pool: PostgresPool) async throws(StoreError) -> Int {
        let rows = try await pool.execute("""
            SELECT count(*)::text FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
            """)
        return rows.rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
    }

    /// `pg_terminate_backend` of every other session of this database idle in a transaction
    /// (their transactions roll back); how many there were. For a harness resetting between
    /// runs, never for a service.
    @discardableResult
    public static func terminateSessionsLeftInTransaction(_ pool: PostgresPool) async throws(StoreError) -> Int {
        let rows = try await pool.execute("""
            SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
            WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()
            """)
        return rows.rows.count
    }
}
