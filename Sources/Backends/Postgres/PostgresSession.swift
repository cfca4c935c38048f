import BookingCore
import CLibpq
import Foundation

/// One libpq connection and the thread that owns it.
///
/// `@unchecked Sendable` because `connection`, `generation` and `backendPID` are mutable and
/// only read or written by jobs running on `thread`, one at a time.
final class PostgresSession: @unchecked Sendable {
    let thread: BlockingThread
    private let configuration: PostgresConfiguration
    private var connection: OpaquePointer?
    /// Counts connections opened by this session. A transaction remembers the generation it
    /// began on, so a reconnect in between can never run its later statements outside it.
    private(set) var generation = 0
    private(set) var backendPID = 0
    /// The statements prepared on the current connection (SQL text to statement name): each
    /// is parsed and planned by the server once per connection, not once per execution,
    /// which is most of what a short statement costs PostgreSQL.
    private var prepared: [String: String] = [:]
    /// Past this many per connection, statements run unprepared (a bound on server memory
    /// should some caller build its SQL text from values).
    static let preparedLimit = 128

    init(configuration: PostgresConfiguration, index: Int) {
        self.configuration = configuration
        thread = BlockingThread(name: "overbook.postgres.\(index)")
    }

    deinit {
        guard let connection else { return }
        let doomed = UncheckedSendable(connection)
        thread.submit { PQfinish(doomed.value) }
    }

    // MARK: On `thread` only

    /// Runs one statement: prepared on first use on this connection (see `prepared`), then
    /// `PQexecPrepared`; `PQexecParams` for what is not prepared.
    ///
    /// - Parameters:
    ///   - generation: when given, the statement belongs to a transaction begun on that
    ///     connection; if it has been lost since, the statement is refused.
    ///   - retryIfStale: the statement is safe to run twice (`BEGIN`, a plain `SELECT`), so a
    ///     reused connection the server has closed meanwhile (restart, idle kill) is replaced
    ///     and the statement retried once instead of failing the caller.
    func execute(_ sql: String, _ parameters: [PostgresValue] = [], generation: Int? = nil,
                 retryIfStale: Bool = false) throws(StoreError) -> PostgresRows {
        if let generation, connection == nil || generation != self.generation {
            throw StoreError.connectionLost("the connection this transaction began on was closed")
        }
        var attempts = retryIfStale && generation == nil ? 2 : 1
        while true {
            attempts -= 1
            let reused = connection != nil
            let connection = try connected()
            do throws(StoreError) {
                return try run(sql, parameters, on: connection)
            } catch {
                if PQstatus(connection) != CONNECTION_OK || error.isConnectionLoss {
                    disconnect()
                    if reused, attempts > 0, error.isConnectionLoss { continue }
                }
                throw error
            }
        }
    }

    /// Runs `sql`, meeting the fault `faults` plans for it, if any, and noting what it did.
    func execute(_ sql: String, _ parameters: [PostgresValue], generation: Int? = nil, retryIfStale: Bool = false,
                 faults: StatementFaults?) throws(StoreError) -> PostgresRows {
        guard let faults, let fault = faults.plan() else {
            return try execute(sql, parameters, generation: generation, retryIfStale: retryIfStale)
        }
        do throws(StoreError) {
            let rows = try execute(sql, parameters, generation: generation, retryIfStale: retryIfStale, meeting: fault)
            faults.record(fault, failedWith: nil)
            return rows
        } catch {
            faults.record(fault, failedWith: error)
            throw error
        }
    }

    /// Runs `sql` as `fault` has it: the server carries the fault out in this session, in place
    /// of the statement (an abort, a connection loss) or around it (a statement timeout).
    func execute(_ sql: String, _ parameters: [PostgresValue], generation: Int?, retryIfStale: Bool,
                 meeting fault: PlannedStatementFault) throws(StoreError) -> PostgresRows {
        switch fault {
        case .abort(let sqlstate):
            _ = try execute("DO $$BEGIN RAISE EXCEPTION 'overbook fault: injected abort' USING ERRCODE = '\(sqlstate)'; END$$",
                            generation: generation)
            throw StoreError.server(sqlstate: sqlstate, message: "the injected abort did not raise")
        case .connectionLoss:
            // The backend handles its own termination before it answers: the statement gets
            // FATAL 57P01 and the connection closes, rolling back any open transaction.
            _ = try execute("SELECT pg_terminate_backend(pg_backend_pid())", generation: generation)
            disconnect()
            throw StoreError.connectionLost("the server closed the connection")
        case .timeout(let milliseconds):
            // SET LOCAL lasts to the transaction's end, so the timeout is lifted again right
            // after its one statement; outside a transaction the session's own value comes back.
            let (set, lift) = generation == nil
                ? ("SET statement_timeout = \(milliseconds)", "RESET statement_timeout")
                : ("SET LOCAL statement_timeout = \(milliseconds)", "SET LOCAL statement_timeout TO DEFAULT")
            _ = try execute(set, generation: generation, retryIfStale: retryIfStale)
            let rows: PostgresRows
            do throws(StoreError) {
                rows = try execute(sql, parameters, generation: generation)
            } catch {
                if generation == nil, connection != nil { _ = try? execute(lift) }
                throw error
            }
            _ = try execute(lift, generation: generation)
            return rows
        }
    }

    /// Ends whatever transaction is open on `generation`'s connection, ignoring failures: the
    /// server rolls back on its own if the connection is gone.
    func rollbackQuietly(generation: Int) {
        _ = try? execute("ROLLBACK", generation: generation)
    }

    func connected() throws(StoreError) -> OpaquePointer {
        if let connection { return connection }
        let parameters = configuration.connectionParameters
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keywordPointers = keywords.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        guard let connection = PQconnectdbParams(keywordPointers, valuePointers, 1) else {
            throw StoreError.connectionLost("cannot allocate a libpq connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let detail = Self.message(of: connection)
            PQfinish(connection)
            throw StoreError.connectionLost("cannot connect to PostgreSQL: \(detail); check that PostgreSQL is running and that the URL (host, port, user, database) is right")
        }
        self.connection = connection
        prepared = [:]
        generation += 1
        backendPID = Int(PQbackendPID(connection))
        return connection
    }

    func disconnect() {
        if let connection { PQfinish(connection) }
        connection = nil
        backendPID = 0
        prepared = [:]
    }

    private func run(_ sql: String, _ parameters: [PostgresValue], on connection: OpaquePointer) throws(StoreError) -> PostgresRows {
        let texts = parameters.map(\.textFormat)
        if texts.contains(where: { $0?.utf8.contains(0) == true }) {
            // PostgreSQL text cannot hold NUL, and a C string would silently cut it off.
            throw StoreError.server(sqlstate: "22021", message: "a parameter contains a NUL byte, which PostgreSQL text cannot store")
        }
        let copies = texts.map { $0.map { strdup($0) } ?? nil }
        defer { copies.forEach { free($0) } }
        let values = copies.map { $0.map { UnsafePointer($0) } }
        let result: OpaquePointer?
        if let name = try statementName(for: sql, on: connection) {
            result = PQexecPrepared(connection, name, Int32(values.count), values, nil, nil, 0)
        } else {
            result = PQexecParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        let succeeded = try Self.checked(result, on: connection)
        defer { PQclear(succeeded) }
        return Self.rows(of: succeeded)
    }

    /// The name `sql` is prepared under on this connection, preparing it first; `nil` for a
    /// statement that is not prepared: anything but a plain query or change (`BEGIN`, `SET`,
    /// `DO`, DDL) and anything past `preparedLimit`.
    private func statementName(for sql: String, on connection: OpaquePointer) throws(StoreError) -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit, Self.isPreparable(sql) else { return nil }
        let name = "overbook_\(prepared.count + 1)"
        PQclear(try Self.checked(PQprepare(connection, name, sql, 0, nil), on: connection))
        prepared[sql] = name
        return name
    }

    static func isPreparable(_ sql: String) -> Bool {
        let keyword = sql.drop { $0 == " " || $0 == "\n" || $0 == "\t" }.prefix { $0.isLetter }.uppercased()
        return ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(keyword)
    }

    /// `result` if it succeeded; its error (the connection's, without one) otherwise, cleared.
    private static func checked(_ result: OpaquePointer?, on connection: OpaquePointer) throws(StoreError) -> OpaquePointer {
        guard let result else {
            if PQstatus(connection) != CONNECTION_OK { throw StoreError.connectionLost(message(of: connection)) }
            throw StoreError.server(sqlstate: "53200", message: message(of: connection))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            let failure = error(of: result, on: connection)
            PQclear(result)
            throw failure
        }
    }


    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column -> String? in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil
                    : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func error(of result: OpaquePointer, on connection: OpaquePointer) -> StoreError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let message = field(UInt8(ascii: "M")) ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace
        guard PQstatus(connection) == CONNECTION_OK else { return .connectionLost(message) }
        guard let sqlstate = field(UInt8(ascii: "C")) else { return .connectionLost(message) }
        switch sqlstate {
        case "40P01": return .deadlockDetected
        case "40001": return .serializationFailure
        case "23505": return .uniqueViolation(constraint: field(UInt8(ascii: "n")) ?? "")
        case "57014": return .statementTimeout
        // The server is ending this session (admin shutdown, crash, restart) or the link broke.
        case "57P01", "57P02", "57P03": return .connectionLost("\(message) (SQLSTATE \(sqlstate))")
        case _ where sqlstate.hasPrefix("08"): return .connectionLost("\(message) (SQLSTATE \(sqlstate))")
        default: return .server(sqlstate: sqlstate, message: message)
        }
    }

    private static func message(of connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingTrailingWhitespace
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}

extension StoreError {
    var isConnectionLoss: Bool {
        if case .connectionLost = self { true } else { false }
    }
}
