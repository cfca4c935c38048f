import BookingCore

/// The inventory database's tables (`inventory_db` in the seed) and its seed data.
public enum InventorySchema {
    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS rooms (
            id integer PRIMARY KEY,
            name text NOT NULL,
            total_quantity integer NOT NULL CHECK (total_quantity >= 0)
        )
        """,
        // No CHECK (available_quantity >= 0), like the seed: an oversell must be observable
        // as a negative count, not hidden behind a constraint error.
        """
        CREATE TABLE IF NOT EXISTS availability (
            room_id integer REFERENCES rooms (id),
            date date,
            available_quantity integer NOT NULL,
            PRIMARY KEY (room_id, date)
        )
        """,
        // The idempotent variant's record of which request reserved what, so a retried reserve
        // or release is answered without changing the counts twice.
        """
        CREATE TABLE IF NOT EXISTS reservations (
            request_id text PRIMARY KEY,
            room_id integer NOT NULL,
            check_in date NOT NULL,
            check_out date NOT NULL
        )
        """,
        FenceSchema.table,
    ]

    /// Creates the tables if they are missing. Idempotent; safe to run from several processes
    /// at once.
    public static func migrate(_ pool: PostgresPool) async throws(StoreError) {
        try await SchemaMigration.run(statements, lockKey: SchemaMigration.inventoryLockKey, on: pool)
    }

    /// Inserts the rooms (capacity = `total_quantity`) and, for each room and night, an
    /// availability row at full capacity. Rows that already exist are left as they are, so
    /// seeding twice changes nothing; `reset` restores the counts.
    public static func seed(_ pool: PostgresPool, rooms: [RoomSpec], nights: [Night]) async throws(StoreError) {
        try await pool.withTransaction { (transaction) throws(StoreError) in
            for room in rooms {
                _ = try await transaction.execute(
                    "INSERT INTO rooms (id, name, total_quantity) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                    [.int(room.id.rawValue), .text(room.name), .int(room.capacity)])
            }
            for room in rooms {
                for night in nights {
                    _ = try await transaction.execute(
                        "INSERT INTO availability (room_id, date, available_quantity) VALUES ($1, $2, $3) ON CONFLICT (room_id, date) DO NOTHING",
                        [.int(room.id.rawValue), .date(night), .int(room.capacity)])
                }
            }
        }
    }

    /// Restores every availability row to its room's `total_quantity` and forgets reservations
    /// and fences, for a fresh run.
    public static func reset(_ pool: PostgresPool) async throws(StoreError) {
        try await pool.withTransaction { (transaction) throws(StoreError) in
            _ = try await transaction.execute(
                "UPDATE availability AS a SET available_quantity = r.total_quantity FROM rooms AS r WHERE r.id = a.room_id")
            _ = try await transaction.execute("TRUNCATE reservations, fences")
        }
    }

    public static func migrate(_ database: PostgresInventoryDatabase) async throws(StoreError) {
        try await migrate(database.pool)
    }

    public static func seed(_ database: PostgresInventoryDatabase, rooms: [RoomSpec], nights: [Night]) async throws(StoreError) {
        try await seed(database.pool, rooms: rooms, nights: nights)
    }

    public static func reset(_ database: PostgresInventoryDatabase) async throws(StoreError) {
        try await reset(database.pool)
    }
}

/// The booking database's table (`booking_db` in the seed).
public enum BookingSchema {
    /// The partial unique index behind `StoreError.uniqueViolation` for a repeated request id.
    /// Named as PostgreSQL would name a `UNIQUE (request_id)` constraint, which is also the
    /// name the simulator's model reports.
    public static let requestIDIndex = "bookings_request_id_key"

    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS bookings (
            id serial PRIMARY KEY,
            user_id text NOT NULL,
            room_id integer NOT NULL,
            check_in date NOT NULL,
            check_out date NOT NULL CHECK (check_out > check_in),
            status text NOT NULL DEFAULT 'confirmed',
            request_id text,
            fencing_token bigint,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS \(requestIDIndex) ON bookings (request_id) WHERE request_id IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS bookings_user_id ON bookings (user_id)",
        // The crash-safe variant's recovery scans pending bookings.
        "CREATE INDEX IF NOT EXISTS bookings_pending ON bookings (id) WHERE status = 'pending'",
        FenceSchema.table,
    ]

    /// Creates the table and indexes if they are missing. Idempotent; safe to run from several
    /// processes at once.
    public static func migrate(_ pool: PostgresPool) async throws(StoreError) {
        try await SchemaMigration.run(statements, lockKey: SchemaMigration.bookingLockKey, on: pool)
    }

    /// Removes every booking and fence and restarts the ids at 1, for a fresh run.
    public static func reset(_ pool: PostgresPool) async throws(StoreError) {
        _ = try await pool.execute("TRUNCATE bookings, fences RESTART IDENTITY")
    }

    public static func migrate(_ database: PostgresBookingDatabase) async throws(StoreError) {
        try await migrate(database.pool)
    }

    public static func reset(_ database: PostgresBookingDatabase) async throws(StoreError) {
        try await reset(database.pool)
    }
}

/// The fenced variant's highest token seen per lock resource, one table in each database.
enum FenceSchema {
    static let table = """
        CREATE TABLE IF NOT EXISTS fences (
            resource text PRIMARY KEY,
            token bigint NOT NULL
        )
        """
}

enum SchemaMigration {
    static let inventoryLockKey = 0x6F76_6572_0001
    static let bookingLockKey = 0x6F76_6572_0002

    /// `CREATE ... IF NOT EXISTS` alone is not safe against a concurrent twin (both may try to
    /// create the same catalog row and one fails with 23505), so the migration first takes a
    /// transaction-scoped advisory lock; the second migrator waits, then finds nothing to do.
    static func run(_ statements: [String], lockKey: Int, on pool: PostgresPool) async throws(StoreError) {
        try await pool.withTransaction { (transaction) throws(StoreError) in
            _ = try await transaction.execute("SELECT pg_advisory_xact_lock($1)", [.int(lockKey)])
            for statement in statements {
                _ = try await transaction.execute(statement)
            }
        }
    }
}

/// Creating and dropping whole databases, e.g. `inventory_db` and `booking_db` on a fresh
/// server, or a throwaway database per test.
public enum PostgresAdmin {
    /// Creates the database unless it exists. `pool` must be connected to another database
    /// (typically `postgres`) as a role allowed to create databases.
    public static func createDatabase(named name: String, on pool: PostgresPool) async throws(StoreError) {
        let identifier = try quotedIdentifier(name)
        let existing = try await pool.execute("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)])
        guard existing.rows.isEmpty else { return }
        do throws(StoreError) {
            // Identifiers cannot be parameters; `quotedIdentifier` admits only plain names.
            _ = try await pool.execute("CREATE DATABASE \(identifier)")
        } catch .server(sqlstate: "42P04", _) {
            // Created by someone else between the check and the CREATE: the goal is met.
        }
    }

    /// Drops the database, ending any sessions still connected to it.
    public static func dropDatabase(named name: String, on pool: PostgresPool) async throws(StoreError) {
        let identifier = try quotedIdentifier(name)
        _ = try await pool.execute("DROP DATABASE IF EXISTS \(identifier) WITH (FORCE)")
    }

    /// Accepts only `[A-Za-z_][A-Za-z0-9_]*` up to 63 bytes, so no value ever changes the
    /// shape of a statement.
    static func quotedIdentifier(_ name: String) throws(StoreError) -> String {
        let bytes = Array(name.utf8)
        func isLetter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "_")
        }
        guard let first = bytes.first, isLetter(first), bytes.count <= 63,
              bytes.allSatisfy({ isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw StoreError.server(sqlstate: "42602", message: "'\(name)' is not a plain database name; use letters, digits and '_' (at most 63), starting with a letter")
        }
        return "\"\(name)\""
    }
}
