/// A binary min-heap of timers keyed by (deadline, insertion sequence).
///
/// The heap itself holds plain keys and a slot number; the timers live in `slots`. Sifting then
/// moves and compares trivially copyable values only: with the timer references inline, every
/// comparison and swap retained and released a timer, which at thousands of pending timers was
/// a tenth of a run.
struct TimerHeap {
    private struct Entry {
        var deadline: Int64
        var sequence: UInt64
        var slot: Int32
    }
    private var items: [Entry] = []
    private var slots: [SimTimer?] = []
    private var freeSlots: [Int32] = []

    var isEmpty: Bool { items.isEmpty }

    /// The deadline of every timer not cancelled, in heap order.
    func forEachLive(_ body: (Int64) -> Void) {
        for entry in items where slots[Int(entry.slot)]?.action != nil { body(entry.deadline) }
    }

    mutating func push(_ timer: SimTimer) {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(free)] = timer
        } else {
            slot = Int32(slots.count)
            slots.append(timer)
        }
        let entry = Entry(deadline: timer.deadline, sequence: timer.sequence, slot: slot)
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(entry, items[parent]) else { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = entry
        assert(isOrdered(around: child), "timer heap out of order after a push")
    }

    func peekDeadline() -> Int64? { items.first?.deadline }

    mutating func pop() -> SimTimer? {
        guard let last = items.popLast() else { return nil }
        let topSlot: Int32
        if items.isEmpty {
            topSlot = last.slot
        } else {
            topSlot = items[0].slot
            // Sift the hole left at the root down to where the last entry belongs.
            var hole = 0
            let count = items.count
            while true {
                let left = 2 * hole + 1
                guard left < count else { break }
                let right = left + 1
                let smaller = right < count && Self.before(items[right], items[left]) ? right : left
                guard Self.before(items[smaller], last) else { break }
                items[hole] = items[smaller]
                hole = smaller
            }
            items[hole] = last
            assert(isOrdered(around: hole), "timer heap out of order after a pop")
        }
        let timer = slots[Int(topSlot)].take()
        freeSlots.append(topSlot)
        return timer
    }

    /// The heap property where a sift stopped: the entry at `index` sorts no earlier than its
    /// parent and no later than its children. Local, so a debug build can afford it on every change.
    private func isOrdered(around index: Int) -> Bool {
        let children = [2 * index + 1, 2 * index + 2].filter { $0 < items.count }
        let parentOK = index == 0 || !Self.before(items[index], items[(index - 1) / 2])
        return parentOK && children.allSatisfy { !Self.before(items[$0], items[index]) }
    }

    @inline(__always)
    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }
}
