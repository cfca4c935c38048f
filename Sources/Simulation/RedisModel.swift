/// Redis for the commands the algorithms use, as a pure state machine over the server's own
/// clock (virtual time plus an offset, so a clock jump can be modelled). Keys expire lazily, on
/// the first access at or after their deadline, as Redis's passive expiry does.
public final class RedisModel {
    public struct Entry: Hashable, Sendable {
        public var value: String
        /// Server-clock nanoseconds; `nil` = no TTL.
        public var expiresAt: Int64?
    }

    @exclusivity(unchecked) private var entries: [String: Entry] = [:]
    /// Added to virtual time to get the server's clock.
    @exclusivity(unchecked) public var clockOffset: Int64 = 0

    public init() {}

    /// Write history, kept only when a failover may need to lose recent writes.
    @exclusivity(unchecked) public var journaling = false
    @exclusivity(unchecked) private var journal: [(time: Int64, key: String, previous: Entry?)] = []

    /// Removes `key` if its TTL has passed (Redis's passive expiry); `true` if it did.
    public func expireIfDue(_ key: String, now: Int64) -> Bool {
        guard let deadline = entries[key]?.expiresAt, deadline <= now &+ clockOffset else { return false }
        write(key, nil, now: now)
        return true
    }

    /// Keys, values and deadlines (as time left, on the server's clock), for a state hash.
    public func digest(into hasher: inout FNV1a, now: Int64) {
        var keys = UnorderedDigest()
        for (key, entry) in entries {
            var element = FNV1a()
            element.feed(key)
            element.feed(entry.value)
            element.feed(entry.expiresAt.map { $0 &- now &- clockOffset } ?? Int64.min)
            keys.add(element)
        }
        keys.feed(into: &hasher)
        hasher.feed(clockOffset)
    }

    private func live(_ key: String, now: Int64) -> Entry? {
        _ = expireIfDue(key, now: now)
        let entry = entries[key]
        assert(entry?.expiresAt.map { $0 > now &+ clockOffset } ?? true, "Redis served \(key) as live past its TTL")
        return entry
    }

    private func write(_ key: String, _ entry: Entry?, now: Int64) {
        if journaling { journal.append((now, key, entries[key])) }
        entries[key] = entry
    }

    /// Fails over to a replica that missed every write since `since`: those writes are undone,
    /// newest first. Returns how many keys changed.
    public func failover(losingWritesSince since: Int64) -> Int {
        var changed = Set<String>()
        while let last = journal.last, last.time > since {
            journal.removeLast()
            entries[last.key] = last.previous
            changed.insert(last.key)
        }
        return changed.count
    }

    /// `SET key value [NX] [PX ttl]`: `false` when NX found the key.
    public func set(_ key: String, _ value: String, onlyIfAbsent: Bool, ttl: Int64?, now: Int64) -> Bool {
        if onlyIfAbsent, live(key, now: now) != nil { return false }
        write(key, Entry(value: value, expiresAt: ttl.map { now &+ clockOffset &+ $0 }), now: now)
        return true
    }

    /// `GET key`.
    public func get(_ key: String, now: Int64) -> String? { live(key, now: now)?.value }

    /// The seed's Lua release: `if GET key == token then DEL key`.
    public func compareAndDelete(_ key: String, token: String, now: Int64) -> Bool {
        guard let entry = live(key, now: now), entry.value == token else { return false }
        write(key, nil, now: now)
        return true
    }

    /// `INCR key` (a fencing counter); a missing key counts from 0.
    public func increment(_ key: String, now: Int64) -> Int {
        let current = live(key, now: now).flatMap { Int($0.value) } ?? 0
        let next = current + 1
        write(key, Entry(value: String(next), expiresAt: entries[key]?.expiresAt), now: now)
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
    public func flushAll() {
        entries.removeAll()
        journal.removeAll()
    }
}
