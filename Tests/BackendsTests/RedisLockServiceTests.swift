@testable import Backends
import BookingCore
import Testing

// Serialized: `SCRIPT FLUSH` empties the script cache for every client of the server. The lock
// behaviours the simulated Redis must share are contract scenarios (Tests/ContractTests).
@Suite("RedisLockService against a real Redis", .serialized, .timeLimit(.minutes(1)))
struct RedisLockServiceTests {
    @Test func releaseFallsBackToEvalAfterScriptFlush() async throws {
        let (lock, prefix) = try TestServers.redis()
        let key = prefix + "lock"
        let sha = RedisLockService.releaseScriptSHA1
        #expect(try await lock.acquire(key: key, token: "a", ttl: .seconds(10)))
        // Other suites release locks on the same server meanwhile, and each release may load the
        // script again between our FLUSH and EXISTS: flush until the cache is seen empty.
        var flushed = false
        for _ in 0..<20 where !flushed {
            #expect(try await lock.command(["SCRIPT", "FLUSH"]) == .status("OK"))
            flushed = try await lock.command(["SCRIPT", "EXISTS", sha]) == .array([.integer(0)])
        }
        #expect(flushed)

        #expect(try await lock.release(key: key, token: "a"), "EVALSHA fails with NOSCRIPT; EVAL must take over")
        #expect(try await lock.command(["SCRIPT", "EXISTS", sha]) == .array([.integer(1)]), "EVAL caches the script again")
        #expect(try await lock.holder(of: key) == nil)

        #expect(try await lock.acquire(key: key, token: "b", ttl: .seconds(10)))
        #expect(try await lock.release(key: key, token: "b"))
    }

    /// The emulated clock jump: every TTL shortened at once, a key with less left deleted, a
    /// key without a TTL (a fence) untouched. In a database of its own: it touches every key.
    @Test func shorteningEveryTTLExpiresWhatAClockJumpWould() async throws {
        var base = try TestServers.redisURL()
        if let slash = base.lastIndex(of: "/"), base[base.index(after: slash)...].allSatisfy(\.isNumber), !base.hasSuffix("//") { base = String(base[..<slash]) }
        let lock = try RedisLockService(url: base + "/15", connections: 1)
        _ = try await lock.command(["FLUSHDB"])
        #expect(try await lock.acquire(key: "lock:long", token: "a", ttl: .seconds(60)))
        #expect(try await lock.acquire(key: "lock:short", token: "b", ttl: .seconds(5)))
        #expect(try await lock.nextFencingToken("fence:kept") == 1)
        let (expired, shortened) = try await lock.shortenEveryTTL(by: .seconds(10))
        #expect(expired == 1 && shortened == 1)
        #expect(try await lock.holder(of: "lock:short") == nil, "5 s left, the clock jumped 10 s: expired")
        #expect(try await lock.holder(of: "lock:long") == "a")
        guard case .integer(let left) = try await lock.command(["PTTL", "lock:long"]) else { Issue.record("no PTTL"); return }
        #expect(left > 0 && left <= 50_000, "60 s less the 10 s jump: \(left) ms")
        #expect(try await lock.nextFencingToken("fence:kept") == 2, "a key without a TTL is untouched")
        _ = try await lock.command(["FLUSHDB"])
        await lock.close()
    }

    @Test func releaseScriptHashMatchesTheServers() async throws {
        let (lock, _) = try TestServers.redis()
        let loaded = try await lock.command(["SCRIPT", "LOAD", RedisLockService.releaseScript])
        #expect(loaded.text == RedisLockService.releaseScriptSHA1)
    }

    @Test func keysAndTokensAreBinarySafe() async throws {
        let (lock, prefix) = try TestServers.redis()
        // Spaces, quotes, CRLF and a RESP-looking fragment: harmless only if each argument
        // travels with its length rather than inside a formatted command string.
        let key = prefix + "lock: room \"1\"\r\n*3\r\n$3\r\nDEL"
        let token = "token with spaces\r\nand 'quotes' ñ"
        #expect(try await lock.acquire(key: key, token: token, ttl: .seconds(10)))
        #expect(try await lock.holder(of: key) == token)
        #expect(try await lock.release(key: key, token: token))
    }

    /// A connection the server closed while idle is replaced before the next command (as
    /// redis-py's pool checks a connection on checkout), so the command is neither lost nor
    /// sent twice.
    @Test func aConnectionClosedWhileIdleIsReplacedBeforeTheNextCommand() async throws {
        let (lock, prefix) = try TestServers.redis(connections: 1)
        let (killer, _) = try TestServers.redis(connections: 1)
        let key = prefix + "lock"
        guard case .integer(let id) = try await lock.command(["CLIENT", "ID"]) else {
            Issue.record("CLIENT ID should answer an integer")
            return
        }
        #expect(try await killer.command(["CLIENT", "KILL", "ID", String(id)]) == .integer(1))

        // The kill reaches this side as an end of stream; wait for it rather than race it.
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await lock.holder(of: key) == nil, "served on a fresh connection")
        guard case .integer(let next) = try await lock.command(["CLIENT", "ID"]) else {
            Issue.record("CLIENT ID should answer an integer")
            return
        }
        #expect(next != id)
        #expect(try await lock.acquire(key: key, token: "a", ttl: .seconds(10)))
        #expect(try await lock.release(key: key, token: "a"))
    }

    @Test func slowReplyIsATimeoutAndTheConnectionRecovers() async throws {
        let url = try TestServers.redisURL()
        let impatient = try RedisLockService(url: url, commandTimeout: .milliseconds(100), connections: 1)
        let (pauser, prefix) = try TestServers.redis(connections: 1)
        let key = prefix + "lock"
        #expect(try await impatient.holder(of: key) == nil, "connected before the pause")

        // Redis stops answering every client for 400 ms. A longer pause upset other suites'
        // clients on the same server (a lock contract test saw wrong answers with 1 s). On a
        // loaded machine this process can stall past the whole pause before it sends the
        // command; such an attempt proves nothing and is tried again. An answer that came
        // inside the pause window is a real failure.
        let clock = ContinuousClock()
        var timedOut = false
        for _ in 1...5 where !timedOut {
            let paused = clock.now
            #expect(try await pauser.command(["CLIENT", "PAUSE", "400"]) == .status("OK"))
            do throws(LockError) {
                _ = try await impatient.holder(of: key)
                #expect(clock.now - paused >= .milliseconds(400), "answered inside the pause: the timeout did not fire")
            } catch .timeout {
                timedOut = true
            } catch {
                Issue.record("expected a timeout, got \(error)")
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(timedOut, "no attempt of five sent its command inside the pause")

        #expect(try await impatient.acquire(key: key, token: "a", ttl: .seconds(10)), "a fresh connection works again")
        #expect(try await impatient.release(key: key, token: "a"))
    }

    @Test func downServerIsATypedErrorThatSaysWhatToDo() async throws {
        let lock = try RedisLockService(url: "redis://127.0.0.1:1", connectTimeout: .milliseconds(500))
        do throws(LockError) {
            _ = try await lock.acquire(key: "k", token: "t", ttl: .seconds(1))
            Issue.record("acquire on a closed port should fail")
        } catch {
            guard case .unavailable(let detail) = error else {
                Issue.record("expected .unavailable, got \(error)")
                return
            }
            #expect(detail.contains("127.0.0.1:1"))
            #expect(error.description.contains("check that Redis is running"))
        }
    }

    @Test func selectsTheDatabaseFromTheURL() async throws {
        var configuration = try RedisConfiguration(url: try TestServers.redisURL())
        configuration.database = 3
        let inDatabase3 = RedisLockService(configuration: configuration)
        configuration.database = 0
        let inDatabase0 = RedisLockService(configuration: configuration)
        let key = "overbook-test:\(TestServers.uniqueName("db"))"
        #expect(try await inDatabase3.acquire(key: key, token: "a", ttl: .seconds(10)))
        #expect(try await inDatabase0.holder(of: key) == nil)
        #expect(try await inDatabase3.release(key: key, token: "a"))
    }
}

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test func parsesURLs() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6390")
        #expect(plain.host == "127.0.0.1" && plain.port == 6390 && plain.database == 0 && plain.password == nil)
        let full = try RedisConfiguration(url: "redis://user:secret@redis.internal:7000/5")
        #expect(full.host == "redis.internal" && full.port == 7000 && full.database == 5)
        #expect(full.username == "user" && full.password == "secret")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 6379)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6391/2")
        #expect(ipv6.host == "::1" && ipv6.port == 6391 && ipv6.database == 2)
        #expect(ipv6.endpoint == "[::1]:6391/2")
    }

    @Test(arguments: ["http://127.0.0.1:6379", "redis://", "redis://host:notaport", "redis://host:70000", "redis://host:1/x"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: BackendConfigurationError.self) { try RedisConfiguration(url: url) }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try RedisConfiguration(url: "redis://user:hunter2@host:bad")
            Issue.record("the port is invalid")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("redis://host:port"))
        }
    }

    @Test func ttlRoundsUpToWholeMilliseconds() {
        #expect(RedisLockService.milliseconds(.seconds(10)) == 10_000)
        #expect(RedisLockService.milliseconds(.milliseconds(50)) == 50)
        #expect(RedisLockService.milliseconds(.microseconds(1500)) == 2)
        #expect(RedisLockService.milliseconds(.zero) == 1)
    }
}
