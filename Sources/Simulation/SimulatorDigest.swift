import BookingCore

extension Simulator {
    /// The scheduler's part of a state hash: virtual time, who is ready, who waits where, the
    /// pending timers, pauses and crashes. Order-independent where the order is an accident.
    public func digest(into hasher: inout FNV1a) {
        hasher.feed(now)
        var owners = UnorderedDigest()
        for owner in readyOwners {
            var entry = FNV1a()
            entry.feed(Int64(owner))
            owners.add(entry)
        }
        owners.feed(into: &hasher)
        var parked = UnorderedDigest()
        var waker = parkedHead
        while let current = waker {
            var entry = FNV1a()
            entry.feed(Int64(current.process.id.kind.order) << 32 | Int64(current.process.id.index))
            entry.feed(Int64(current.process.incarnation))
            entry.feed(Int64(current.owner))
            current.label.withUTF8Buffer { bytes in
                for byte in bytes { entry.feed(Int64(byte)) }
            }
            parked.add(entry)
            waker = current.next
        }
        parked.feed(into: &hasher)
        var pending = UnorderedDigest()
        timers.forEachLive { deadline in
            var entry = FNV1a()
            entry.feed(deadline &- now)
            pending.add(entry)
        }
        pending.feed(into: &hasher)
        var processes = UnorderedDigest()
        for (process, until) in pausedUntil where until > now {
            var entry = FNV1a()
            entry.feed(Int64(process.kind.order) << 32 | Int64(process.index))
            entry.feed(until)
            processes.add(entry)
        }
        for (process, incarnation) in incarnations {
            var entry = FNV1a()
            entry.feed(Int64(process.kind.order) << 32 | Int64(process.index))
            entry.feed(-Int64(incarnation))
            processes.add(entry)
        }
        processes.feed(into: &hasher)
    }
}
