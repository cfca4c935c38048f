import Backends
import BookingCore
import RealHarness
import Testing

/// The real-stack network faults, on a real Redis behind the proxy: each mode does to the
/// lock service's commands what its name says, and the direct connection shows what really
/// happened on the server.
@Suite(.serialized) struct FaultProxyTests {
    /// The proxy in front of the test Redis, a lock client through it and one straight to Redis.
    /// Their 2.5 s command timeout rides out another suite's 400 ms `CLIENT PAUSE` of the server.
    static func withProxy(_ body: (FaultProxy, RedisLockService, RedisLockService) async throws -> Void) async throws {
        let direct = try RedisConfiguration(url: try TestServers.redisURL(), commandTimeout: .milliseconds(2_500), connections: 1)
        let proxy = try await FaultProxy.start(upstreamHost: direct.host, upstreamPort: direct.port)
        var proxied = direct
        proxied.port = proxy.port
        let throughProxy = RedisLockService(configuration: proxied)
        let straight = RedisLockService(configuration: direct)
        do {
            _ = try await straight.delete(try await straight.liveKeys(matching: "proxy-test:*").map(\.key))
            try await body(proxy, throughProxy, straight)
        } catch {
            await throughProxy.close()
            await straight.close()
            await proxy.stop()
            throw error
        }
        await throughProxy.close()
        await straight.close()
        await proxy.stop()
    }

    /// Connects through the proxy, switches it to `mode`, and expects a `SET` of `key` to fail.
    static func setFails(_ key: String, token: String, under mode: FaultProxy.Mode, _ proxy: FaultProxy,
                         _ through: RedisLockService) async throws {
        _ = try await through.holder(of: "proxy-test:warm")
        proxy.set(mode)
        await #expect(throws: LockError.self, "\(mode)") {
            _ = try await through.acquire(key: key, token: token, ttl: .seconds(10))
        }
    }

    @Test func passForwardsBothWays() async throws {
        try await Self.withProxy { (proxy, through, straight) async throws in
            #expect(proxy.port > 0)
            #expect(try await through.acquire(key: "proxy-test:pass", token: "t1", ttl: .seconds(10)))
            #expect(try await straight.holder(of: "proxy-test:pass") == "t1")
            #expect(proxy.acceptedConnections >= 1)
        }
    }

    @Test func aLostReplyLeavesTheWorkDone() async throws {
        try await Self.withProxy { (proxy, through, straight) async throws in
            try await Self.setFails("proxy-test:reply", token: "t2", under: .dropReplies, proxy, through)
            // The SET reached Redis; only its answer was lost. Polled: when another suite's
            // CLIENT PAUSE holds both back, the read on the other connection may be served first.
            var holder: String?
            for _ in 0..<50 {
                holder = try await straight.holder(of: "proxy-test:reply")
                if holder == "t2" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(holder == "t2")
        }
    }

    @Test func aBlackholeLosesTheRequest() async throws {
        try await Self.withProxy { (proxy, through, straight) async throws in
            try await Self.setFails("proxy-test:hole", token: "t3", under: .blackhole, proxy, through)
            #expect(try await straight.holder(of: "proxy-test:hole") == nil)
            // The end of the blackhole resets what it swallowed bytes of; the client connects
            // afresh and is served (nothing waits for the rest of a lost command).
            let before = proxy.acceptedConnections
            proxy.set(.pass)
            var acquired = false
            for _ in 0..<20 where !acquired {
                acquired = (try? await through.acquire(key: "proxy-test:hole", token: "t3b", ttl: .seconds(10))) ?? false
                if !acquired { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(acquired)
            #expect(proxy.acceptedConnections > before, "a new connection after the reset")
        }
    }

    @Test func resetAbortsAndRefusesUntilPassAgain() async throws {
        try await Self.withProxy { (proxy, through, straight) async throws in
            try await Self.setFails("proxy-test:reset", token: "t4", under: .reset, proxy, through)
            #expect(try await straight.holder(of: "proxy-test:reset") == nil)
            proxy.set(.pass)
            // The client reconnects once the hop is back.
            var acquired = false
            for _ in 0..<5 where !acquired {
                acquired = (try? await through.acquire(key: "proxy-test:reset", token: "t5", ttl: .seconds(10))) ?? false
            }
            #expect(acquired)
            #expect(try await straight.holder(of: "proxy-test:reset") == "t5")
        }
    }

    @Test func aDelayHoldsEveryChunkInOrder() async throws {
        try await Self.withProxy { (proxy, through, straight) async throws in
            // Longer than the 2.5 s command timeout: the command lands late, its answer too late.
            try await Self.setFails("proxy-test:slow", token: "t6", under: .delay(.seconds(4)), proxy, through)
            #expect(try await straight.holder(of: "proxy-test:slow") == nil, "not yet: it is still held by the proxy")
            try await Task.sleep(for: .seconds(3))
            #expect(try await straight.holder(of: "proxy-test:slow") == "t6")
            proxy.set(.delay(.milliseconds(100)))
            #expect(try await through.acquire(key: "proxy-test:slow2", token: "t7", ttl: .seconds(10)))
        }
    }
}
