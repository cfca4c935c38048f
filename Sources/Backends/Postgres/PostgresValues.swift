import BookingCore

/// A statement parameter. Parameters travel separately from the SQL text (`PQexecParams`), in
/// PostgreSQL's text format, and the server infers each one's type from where `$n` appears.
public enum PostgresValue: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case null
    case int(Int)
    case text(String)
    case date(Night)

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .int(value) }

    /// `nil` becomes SQL `NULL`.
    public static func text(_ value: String?) -> PostgresValue { value.map(PostgresValue.text) ?? .null }
    public static func int(_ value: Int?) -> PostgresValue { value.map(PostgresValue.int) ?? .null }

    var textFormat: String? {
        switch self {
        case .null: nil
        case .int(let value): String(value)
        case .text(let value): value
        case .date(let night): night.description
        }
    }
}

/// A statement's result, copied out of libpq in text format.
public struct PostgresRows: Hashable, Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// The row count from the command tag (`UPDATE 1`, `INSERT 0 1`), 0 when there is none.
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public func int(row: Int, column: Int) throws(StoreError) -> Int {
        let text = try self.text(row: row, column: column)
        guard let value = Int(text) else { throw Self.unexpected("'\(text)' in column \(columns[column]) is not an integer") }
        return value
    }

    public func optionalInt(row: Int, column: Int) throws(StoreError) -> Int? {
        guard rows[row][column] != nil else { return nil }
        return try int(row: row, column: column)
    }

    public func text(row: Int, column: Int) throws(StoreError) -> String {
        guard row < rows.count, column < columns.count else { throw Self.unexpected("no row \(row), column \(column) in the result") }
        guard let text = rows[row][column] else { throw Self.unexpected("column \(columns[column]) is NULL") }
        return text
    }

    public func night(row: Int, column: Int) throws(StoreError) -> Night {
        let text = try self.text(row: row, column: column)
        guard let night = Night(iso: text) else { throw Self.unexpected("'\(text)' in column \(columns[column]) is not a YYYY-MM-DD date") }
        return night
    }

    /// The server sent something the schema does not allow: reported as a data exception
    /// (SQLSTATE 22000) rather than trapping, since the database may have been edited by hand.
    static func unexpected(_ message: String) -> StoreError {
        .server(sqlstate: "22000", message: "unexpected result: \(message); check the schema (run the migrations)")
    }
}
