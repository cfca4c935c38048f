import BookingCore

/// `LockService` over a real Redis, as the seed's booking service uses it: `SET NX PX` to
/// acquire, a Lua compare-and-delete to release.
///
/// Commands run on a small pool of connections, each owned by its own thread (see
/// `BlockingThread`). A connection that fails (refused, reset, timed out) is closed and the
/// call reports `LockError`; the next call on that slot connects afresh. Commands are never
/// retried here: after a timeout nobody knows whether the command ran, and the algorithm is
/// the one that must decide what that means.
public final class RedisLockService: LockService {
    /// The seed's release script: delete the key only while it still holds our token.
    static let releaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
    /// SHA-1 of `releaseScript`, for `EVALSHA`. A test checks it against `SCRIPT LOAD`.
    static let releaseScriptSHA1 = "e9f69f2beb755be68b5e456ee2ce9aadfbc4ebf4"

    public let configuration: RedisConfiguration
    private let pool: SessionPool<RedisSession>
    /// Times every command's round trip (`overbook serve --record-timings`); `nil` otherwise.
    private let timer: HopTimer?

    public init(configuration: RedisConfiguration, timer: HopTimer? = nil) {
        self.configuration = configuration
        self.timer = timer
        pool = SessionPool(sessions: (0..<max(1, configuration.connections)).map {
            RedisSession(configuration: configuration, index: $0)
        })
    }

    /// - Parameter url: `redis://host:port[/db]`; see `RedisConfiguration(url:)`.
    public convenience init(url: String, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
                            connections: Int = 4, timer: HopTimer? = nil) throws(BackendConfigurationError) {
        self.init(configuration: try RedisConfiguration(url: url, connectTimeout: connectTimeout,
                                                        commandTimeout: commandTimeout, connections: connections),
                  timer: timer)
    }

    public func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool {
        let reply = try await command(["SET", key, token, "NX", "PX", String(Self.milliseconds(ttl))])
        switch reply {
        case .status: return true
        case .null: return false
        default: throw Self.unexpected(reply, to: "SET")
        }
    }

    public func release(key: String, token: String) async throws(LockError) -> Bool {
        var reply = try await command(["EVALSHA", Self.releaseScriptSHA1, "1", key, token])
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            // The script cache is empty after a restart, failover or SCRIPT FLUSH. EVAL runs the
            // script and caches it again, so later releases are back on EVALSHA.
            reply = try await command(["EVAL", Self.releaseScript, "1", key, token])
        }
        guard case .integer(let deleted) = reply else { throw Self.unexpected(reply, to: "EVAL") }
        return deleted == 1
    }

    public func holder(of key: String) async throws(LockError) -> String? {
        let reply = try await command(["GET", key])
        switch reply {
        case .null: return nil
        case .bulk: return reply.text
        default: throw Self.unexpected(reply, to: "GET")
        }
    }

    /// `INCR key`: a strictly increasing number for fenced writes. Redis persists the counter
    /// like any key, so under `--save ''` a restart starts it again from 1.
    public func nextFencingToken(_ key: String) async throws(LockError) -> Int {
        let reply = try await command(["INCR", key])
        guard case .integer(let token) = reply else { throw Self.unexpected(reply, to: "INCR") }
        return token
    }

    /// `KEYS pattern`, then `GET` of each: the keys still alive and their values. For checks at
    /// quiescence and resets between runs, never the hot path: `KEYS` walks the whole keyspace.
    public func liveKeys(matching pattern: String) async throws(LockError) -> [(key: String, value: String)] {
        let reply = try await command(["KEYS", pattern])
        guard case .array(let elements) = reply else { throw Self.unexpected(reply, to: "KEYS") }
        var live: [(key: String, value: String)] = []
        for key in elements.compactMap(\.text).sorted() {
            // Gone between KEYS and GET (expired or released): not alive any more.
            if let value = try await holder(of: key) { live.append((key, value)) }
        }
        return live
    }

    /// `DEL key ...`: how many existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws(LockError) -> Int {
        guard !keys.isEmpty else { return 0 }
        let reply = try await command(["DEL"] + keys)
        guard case .integer(let deleted) = reply else { throw Self.unexpected(reply, to: "DEL") }
        return deleted
    }

    /// One administrative command (`REPLICAOF`, `INFO replication`) for a harness that
    /// rearranges the servers: its status, bulk or integer reply as text; an error reply throws.
    @discardableResult
    public func administer(_ arguments: [String]) async throws(LockError) -> String {
        let reply = try await command(arguments)
        switch reply {
        case .integer(let value): return String(value)
        case .error: throw Self.unexpected(reply, to: arguments.first ?? "?")
        default: return reply.text ?? ""
        }
    }

    /// Shortens every key's time to live by `jump`, at once (one Lua script, so atomically):
    /// a key with less left than that is deleted. This is what a Redis clock jumping forward by
    /// `jump` does to the keys it holds (keys set afterwards live their whole TTL on the jumped
    /// clock); a harness without a real clock shift emulates the jump with it. Returns how
    /// many keys expired and how many were shortened.
    public func shortenEveryTTL(by jump: Duration) async throws(LockError) -> (expired: Int, shortened: Int) {
        let script = """
            local jump = tonumber(ARGV[1]); local expired = 0; local shortened = 0
            for _, key in ipairs(redis.call('KEYS', '*')) do
              local left = redis.call('PTTL', key)
              if left > 0 then
                if left <= jump then redis.call('DEL', key); expired = expired + 1
                else redis.call('PEXPIRE', key, left - jump); shortened = shortened + 1 end
              end
            end
            return {expired, shortened}
            """
        let reply = try await command(["EVAL", script, "0", String(Self.milliseconds(jump))])
        guard case .array(let counts) = reply, counts.count == 2, case .integer(let expired) = counts[0], case .integer(let shortened) = counts[1] else {
            throw Self.unexpected(reply, to: "EVAL (shorten every TTL)")
        }
        return (expired, shortened)
    }

    /// Closes every connection once it is idle; the next command reconnects.
    public func close() async {
        var closed: [RedisSession] = []
        // Every session is held until all are closed, so none is closed twice or reopened
        // by a concurrent caller halfway through.
        for _ in 0..<pool.size {
            let session = await pool.acquire()
            await session.disconnect()
            closed.append(session)
        }
        closed.forEach(pool.release)
    }

    /// Runs one command on a pooled connection. Error replies come back as `.error`, for the
    /// caller to judge; only a failed connection throws.
    func command(_ arguments: [String]) async throws(LockError) -> RedisReply {
        let session = await pool.acquire()
        defer { pool.release(session) }
        return try await timedRoundTrip(timer) { () async throws(LockError) -> RedisReply in try await session.command(arguments) }
    }

    /// Redis wants whole milliseconds and refuses 0, so a TTL rounds up to at least 1 ms.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let whole = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return max(1, whole + (remainder > 0 ? 1 : 0))
    }

    private static func unexpected(_ reply: RedisReply, to command: String) -> LockError {
        if case .error(let message) = reply {
            return .unavailable("Redis refused \(command): \(message)")
        }
        return .unavailable("unexpected reply to \(command): \(reply)")
    }
}
