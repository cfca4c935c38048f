/// A binary min-heap of timers keyed by (deadline, insertion sequence).
struct TimerHeap {
    /// Keys inline, so sifting compares without chasing pointers.
    private struct Entry {
        var deadline: Int64
        var sequence: UInt64
        var timer: SimTimer
    }
    private var items: [Entry] = []

    var isEmpty: Bool { items.isEmpty }

    /// The deadline of every timer not cancelled, in heap order.
    func forEachLive(_ body: (Int64) -> Void) {
        for entry in items where entry.timer.action != nil { body(entry.deadline) }
    }

    mutating func push(_ timer: SimTimer) {
        items.append(Entry(deadline: timer.deadline, sequence: timer.sequence, timer: timer))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
        assert(isOrdered(around: child), "timer heap out of order after a push")
    }

    func peekDeadline() -> Int64? { items.first?.deadline }

    mutating func pop() -> SimTimer? {
        guard !items.isEmpty else { return nil }
        let top = items[0].timer
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            let count = items.count
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                let right = left + 1
                let smallest = right < count && Self.before(items[right], items[left]) ? right : left
                guard Self.before(items[smallest], items[parent]) else { break }
                items.swapAt(smallest, parent)
                parent = smallest
            }
            assert(isOrdered(around: parent), "timer heap out of order after a pop")
        }
        return top
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
