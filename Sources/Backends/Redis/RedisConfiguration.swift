/// Where and how to reach Redis.
public struct RedisConfiguration: Hashable, Sendable {
    public var host: String
    public var port: Int
    /// The logical database selected after connecting (`SELECT`), 0 by default.
    public var database: Int
    /// ACL user for `AUTH`, when the URL names one.
    public var username: String?
    public var password: String?
    /// How long to wait for the TCP connection.
    public var connectTimeout: Duration
    /// How long to wait for a reply before giving up with `LockError.timeout`.
    public var commandTimeout: Duration
    /// How many connections (each with its own thread) run commands side by side.
    public var connections: Int

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0,
                username: String? = nil, password: String? = nil,
                connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
                connections: Int = 4) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.connections = connections
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]` (port 6379 and database 0 by default;
    /// an IPv6 host goes in brackets).
    public init(url: String, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
                connections: Int = 4) throws(BackendConfigurationError) {
        func invalid(_ why: String) -> BackendConfigurationError {
            BackendConfigurationError("'\(redacted(url))' is not a Redis URL (\(why)); use redis://host:port[/db], e.g. redis://127.0.0.1:6379/0")
        }
        let scheme = "redis://"
        guard url.hasPrefix(scheme) else { throw invalid("it must start with redis://") }
        var rest = Substring(url.dropFirst(scheme.count))

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }

        var authority = rest
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw invalid("unexpected text after the host") }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw invalid("no host") }

        var port = 6379
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else { throw invalid("port '\(portText)' is not a number from 1 to 65535") }
            port = value
        }
        var database = 0
        if !path.isEmpty {
            guard let value = Int(path), value >= 0 else { throw invalid("database '\(path)' is not a non-negative number") }
            database = value
        }
        guard connections >= 1 else { throw BackendConfigurationError("Redis connections must be at least 1, got \(connections)") }
        self.init(host: String(host), port: port, database: database, username: username, password: password,
                  connectTimeout: connectTimeout, commandTimeout: commandTimeout, connections: connections)
    }

    /// `host:port/db`, never the password: safe for error messages and logs.
    public var endpoint: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

}
