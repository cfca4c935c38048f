import BookingCore
import RunObservation

/// The lock service as a booking replica sees it: each command is a round trip on the
/// booking-redis hop, executed by the Redis model when it arrives, refused while Redis
/// restarts, and timed out by the client library after `redisTimeout`.
public struct SimLockService: LockService {
    let world: SimWorld
    let caller: ProcessContext

    public init(world: SimWorld, caller: ProcessContext) {
        self.world = world
        self.caller = caller
    }

    /// Runs `command` in Redis; `nil` when Redis refused the connection.
    private func command<T>(_ label: StaticString, key: String, _ command: @escaping (_ origin: Int) -> T) async throws(LockError) -> T {
        let world = self.world
        let origin = RequestOrigin.user
        let outcome: SimWorld.Exchange<T?> = await world.exchange(caller, .bookingRedis, to: world.redisProcess.id, label,
                                                                   timeout: world.redisTimeout) { reply in
            guard world.now >= world.redisDownUntil else { return reply(nil) }
            if world.redis.expireIfDue(key, now: world.now) {
                world.trace(TraceEvent(time: world.now, process: world.redisProcess, op: .lockExpired, subject: .key(key), origin: origin))
            }
            reply(command(origin))
        }
        switch outcome {
        case .reply(let value?): return value
        case .reply(nil):
            world.coverage.hit(.lockServiceUnavailable)
            throw .unavailable("connection refused (Redis is restarting)")
        case .timedOut:
            world.coverage.hit(.lockServiceUnavailable)
            throw .timeout
        case .ended: throw .unavailable("the simulation has ended")
        }
    }

    public func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        return try await command("SET NX", key: key) { origin in
            let done = world.redis.set(key, token, onlyIfAbsent: true, ttl: ttl.nanoseconds, now: world.now)
            if done { world.recordLockSetter(token, caller) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockAcquire, subject: .key(key),
                                   a: done ? 1 : 0, b: ttl.nanoseconds, text: token, origin: origin))
            return done
        }
    }

    public func release(key: String, token: String) async throws(LockError) -> Bool {
        let world = self.world
        let caller = self.caller
        world.recordReleaseAttempt(token)
        return try await command("EVAL compare-and-delete", key: key) { origin in
            let done = world.redis.compareAndDelete(key, token: token, now: world.now)
            if !done { world.coverage.hit(.lockExpiredWhileHeld) }
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockRelease, subject: .key(key),
                                   a: done ? 1 : 0, text: token, origin: origin))
            return done
        }
    }

    public func nextFencingToken(_ key: String) async throws(LockError) -> Int {
        let world = self.world
        let caller = self.caller
        return try await command("INCR", key: key) { origin in
            let next = world.redis.increment(key, now: world.now)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockFence, subject: .key(key), a: Int64(next), origin: origin))
            return next
        }
    }

    public func holder(of key: String) async throws(LockError) -> String? {
        let world = self.world
        let caller = self.caller
        return try await command("GET", key: key) { origin in
            let value = world.redis.get(key, now: world.now)
            world.trace(TraceEvent(time: world.now, process: caller, op: .lockGet, subject: .key(key), text: value ?? "", origin: origin))
            return value
        }
    }
}

