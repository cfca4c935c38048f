/// Redis for the commands the algorithms use, as a pure state machine over the server's own
/// clock (virtual time plus an offset, so a clock jump can be modelled). Keys expire lazily, on
/// the first access at or after their deadline, as Redis's passive expiry does.
public final class RedisModel {
    public struct Entry: Hashable, Sendable {
        public var value: String
        /// Server-clock nanoseconds; `nil` = no TTL.
        public var expiresAt: Int64?
    }

    private var entries: [String: Entry] = [:]
    /// Added to virtual time to get the server's clock.
    public var clockOffset: Int64 = 0

    public init() {}

    /// Keys that expired at this access, for the trace (`lock.expired`).
    public private(set) var lastExpired: Entry?

    private func live(_ key: String, now: Int64) -> Entry? {
        lastExpired = nil
        guard let entry = entries[key] else { return nil }
        if let deadline = entry.expiresAt, deadline <= now &+ clockOffset {
            entries[key] = nil
            lastExpired = entry
            return nil
        }
        return entry
    }

    /// `SET key value [NX] [PX ttl]`: `false` when NX found the key.
    public func set(_ key: String, _ value: String, onlyIfAbsent: Bool, ttl: Int64?, now: Int64) -> Bool {
        if onlyIfAbsent, live(key, now: now) != nil { return false }
        entries[key] = Entry(value: value, expiresAt: ttl.map { now &+ clockOffset &+ $0 })
        return true
    }

    /// `GET key`.
    public func get(_ key: String, now: Int64) -> String? { live(key, now: now)?.value }

    /// The seed's Lua release: `if GET key == token then DEL key`.
    public func compareAndDelete(_ key: String, token: String, now: Int64) -> Bool {
        guard let entry = live(key, now: now), entry.value == token else { return false }
        entries[key] = nil
        return true
    }

    /// `INCR key` (a fencing counter); a missing key counts from 0.
    public func increment(_ key: String, now: Int64) -> Int {
        let current = live(key, now: now).flatMap { Int($0.value) } ?? 0
        let next = current + 1
        entries[key] = Entry(value: String(next), expiresAt: entries[key]?.expiresAt)
        return next
    }

    /// Keys still alive at `now`, sorted.
    public func liveKeys(now: Int64) -> [(key: String, entry: Entry)] {
        entries.keys.sorted().compactMap { key in
            guard let entry = entries[key] else { return nil }
            if let deadline = entry.expiresAt, deadline <= now &+ clockOffset { return nil }
            return (key, entry)
        }
    }

    /// A restart without persistence.
    public func flushAll() { entries.removeAll() }
}
