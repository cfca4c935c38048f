import CLibpq

/// Where and how to reach PostgreSQL.
public struct PostgresConfiguration: Hashable, Sendable {
    /// A libpq connection string: a URL (`postgresql://user@host:port/db`) or `key=value` pairs.
    /// Credentials belong here or in the environment libpq reads (`PGPASSWORD`, `~/.pgpass`).
    public var url: String
    /// Overrides the URL's database name, so one server URL can reach several databases.
    public var database: String?
    /// The pool's bound: at most this many connections, each with its own thread.
    public var poolSize: Int
    /// libpq's `connect_timeout` (whole seconds; libpq treats anything below 2 s as 2 s).
    public var connectTimeout: Duration
    /// Shown in `pg_stat_activity.application_name`, so a pool's connections can be found.
    public var applicationName: String
    /// Server settings applied to every connection at start-up (`-c name=value`), such as
    /// `statement_timeout` or `deadlock_timeout`. Settings a superuser must set need one.
    public var settings: [String: String]

    public init(url: String, database: String? = nil, poolSize: Int = 10, connectTimeout: Duration = .seconds(5),
                applicationName: String = "overbook", settings: [String: String] = [:]) throws(BackendConfigurationError) {
        guard poolSize >= 1 else { throw BackendConfigurationError("PostgreSQL pool size must be at least 1, got \(poolSize)") }
        for name in settings.keys where !Self.isPlainName(name) {
            throw BackendConfigurationError("'\(name)' is not a PostgreSQL setting name; use letters, digits, '_' and '.'")
        }
        var message: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(url, &message) {
            PQconninfoFree(options)
        } else {
            // libpq quotes the whole string it could not parse, password included.
            let detail = redacting(url, in: message.map { String(cString: $0).trimmingTrailingWhitespace } ?? "out of memory")
            PQfreemem(message)
            throw BackendConfigurationError("invalid PostgreSQL URL: \(detail); use postgresql://user@host:port/database")
        }
        self.url = url
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.settings = settings
    }

    /// The libpq keyword/value pairs for `PQconnectdbParams`, later pairs overriding earlier
    /// ones. The first `dbname` is the URL itself, which libpq expands (`expand_dbname`).
    var connectionParameters: [(String, String)] {
        var parameters = [("dbname", url)]
        if let database { parameters.append(("dbname", database)) }
        let (seconds, attoseconds) = connectTimeout.components
        parameters.append(("connect_timeout", String(max(1, seconds + (attoseconds > 0 ? 1 : 0)))))
        parameters.append(("application_name", applicationName))
        parameters.append(("client_encoding", "UTF8"))
        // Dates are read back as text, so their format must not depend on the server's DateStyle.
        var options = ["-c", "datestyle=ISO"]
        for name in settings.keys.sorted() {
            options += ["-c", "\(name)=\(Self.escapeOption(settings[name]!))"]
        }
        parameters.append(("options", options.joined(separator: " ")))
        return parameters
    }

    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }

    /// libpq splits `options` on spaces unless escaped with a backslash.
    private static func escapeOption(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == " " || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}

extension String {
    var trimmingTrailingWhitespace: String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
