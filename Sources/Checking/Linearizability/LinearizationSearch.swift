/// A sequential specification that `LinearizationSearch` checks one partition of a history
/// against. Its operations are numbered `0..<operationCount`; each has the answer it got, and the
/// model says whether that answer can be given in its current state.
protocol SequentialModel {
    /// What linearizing one operation changed, enough to undo it.
    associatedtype Step
    /// Everything of the model that later answers depend on: the search caches it.
    associatedtype State: Hashable

    var operationCount: Int { get }
    var state: State { get }
    /// No order completes from this state, whatever comes next.
    var isDead: Bool { get }
    /// Whether a state in which every operation is linearized is an accepted end (the final
    /// read's demands met).
    var acceptsEnd: Bool { get }
    /// Sets of operations that may be linearized in either order with the same effect; the
    /// search orders each set by (invocation, completion, index) and never tries a later member
    /// while an earlier one that completes no later still waits.
    var interchangeableSets: [[Int]] { get }

    func invocation(of operation: Int) -> Int64
    /// `Int64.max` for an operation that may take effect at any time after its invocation.
    func completion(of operation: Int) -> Int64
    /// The step that linearizes `operation` now with the answer it got, or `nil` when the
    /// current state would answer differently.
    func step(_ operation: Int) -> Step?
    /// A step that linearizes `operation` now with no effect and would have none at any later
    /// point either, so that taking it at once loses no order; `nil` when there is none.
    func forcedStep(_ operation: Int) -> Step?
    mutating func apply(_ step: Step, of operation: Int)
    mutating func undo(_ step: Step, of operation: Int)
}

/// One Wing & Gong search, as Lowe improved it and Porcupine implements it, over one partition:
/// call and return entries sorted by time in a doubly linked list; depth-first, linearizing a
/// call whose model step matches (lift), backtracking on reaching the return of an operation not
/// yet linearized (unlift); a cache of (linearized set, model state) pairs so that no state is
/// searched twice. Forced steps are taken without branching, dead states are left at once, and
/// of interchangeable operations only the canonical one is tried.
final class LinearizationSearch<Model: SequentialModel> {
    enum Result: Equatable { case linearizable, notLinearizable, exhausted }

    private struct Key: Hashable {
        var done: [UInt64]
        var state: Model.State
    }

    private struct Frame {
        var operation: Int
        var step: Model.Step
        var forcedBase: Int
    }

    let count: Int
    let maxStates: Int
    private(set) var states = 0

    private var model: Model
    private let returns: [Int64]
    private var done: [UInt64]
    private var next: [Int]
    private var prev: [Int]
    private let head: Int
    private let groups: [[Int]]
    private var groupOf: [Int]
    private var groupPosition: [Int]
    private var groupNextFree: [Int]
    private var forced: [(operation: Int, step: Model.Step)] = []
    private var cache = Set<Key>()

    init(model: Model, maxStates: Int) {
        let n = model.operationCount
        let calls = (0..<n).map { model.invocation(of: $0) }
        let returns = (0..<n).map { model.completion(of: $0) }
        let groups = model.interchangeableSets.map { members in
            members.sorted { (calls[$0], returns[$0], $0) < (calls[$1], returns[$1], $1) }
        }
        var groupOf = [Int](repeating: -1, count: n)
        var groupPosition = [Int](repeating: -1, count: n)
        for (group, members) in groups.enumerated() {
            for (position, index) in members.enumerated() {
                groupOf[index] = group
                groupPosition[index] = position
            }
        }
        self.model = model
        self.count = n
        self.maxStates = maxStates
        self.returns = returns
        self.done = [UInt64](repeating: 0, count: (n + 63) / 64)
        self.groups = groups
        self.groupOf = groupOf
        self.groupPosition = groupPosition
        self.groupNextFree = [Int](repeating: 0, count: groups.count)

        // Entries: call of operation i is node i, its return is node count + i; head is 2 * count.
        let order = (0..<(2 * n)).sorted { a, b in
            let (ta, tb) = (a < n ? calls[a] : returns[a - n], b < n ? calls[b] : returns[b - n])
            if ta != tb { return ta < tb }
            // At equal times calls come first: touching operations count as concurrent.
            if (a < n) != (b < n) { return a < n }
            return a < b
        }
        head = 2 * n
        next = [Int](repeating: -1, count: 2 * n + 1)
        prev = [Int](repeating: -1, count: 2 * n + 1)
        var last = head
        for node in order {
            next[last] = node
            prev[node] = last
            last = node
        }
    }

    // MARK: State

    private func isDone(_ operation: Int) -> Bool { done[operation >> 6] & (1 << UInt64(operation & 63)) != 0 }

    private func remove(_ node: Int) {
        next[prev[node]] = next[node]
        if next[node] >= 0 { prev[next[node]] = prev[node] }
    }

    private func restore(_ node: Int) {
        next[prev[node]] = node
        if next[node] >= 0 { prev[next[node]] = node }
    }

    private func lift(_ index: Int, _ step: Model.Step) {
        model.apply(step, of: index)
        done[index >> 6] |= 1 << UInt64(index & 63)
        let group = groupOf[index]
        if group >= 0 && groupNextFree[group] == groupPosition[index] {
            let members = groups[group]
            var free = groupPosition[index] + 1
            while free < members.count && isDone(members[free]) { free += 1 }
            groupNextFree[group] = free
        }
        remove(index)
        remove(count + index)
    }

    private func unlift(_ index: Int, _ step: Model.Step) {
        restore(count + index)
        restore(index)
        let group = groupOf[index]
        if group >= 0 { groupNextFree[group] = min(groupNextFree[group], groupPosition[index]) }
        done[index >> 6] &= ~(1 << UInt64(index & 63))
        model.undo(step, of: index)
    }

    /// Whether no operation interchangeable with `index` and ahead of it is still waiting.
    private func isCanonical(_ index: Int) -> Bool {
        let group = groupOf[index]
        guard group >= 0 else { return true }
        let members = groups[group]
        var position = groupNextFree[group]
        while position < groupPosition[index] {
            let other = members[position]
            if !isDone(other) && returns[other] <= returns[index] { return false }
            position += 1
        }
        return true
    }

    /// Lifts every callable operation that has a forced step, in list order, recording them.
    private func liftForced() {
        var entry = next[head]
        while entry >= 0 && entry < count {
            if let step = model.forcedStep(entry) {
                let before = prev[entry]
                lift(entry, step)
                forced.append((entry, step))
                entry = next[before]
            } else {
                entry = next[entry]
            }
        }
    }

    private func undoForced(to base: Int) {
        while forced.count > base {
            let (operation, step) = forced.removeLast()
            unlift(operation, step)
        }
    }

    private var key: Key { Key(done: done, state: model.state) }

    // MARK: Search

    func run() -> Result {
        var frames: [Frame] = []
        liftForced()
        if model.isDead { return .notLinearizable }
        if next[head] < 0 { return model.acceptsEnd ? .linearizable : .notLinearizable }
        cache.insert(key)
        states = 1
        var entry = next[head]
        while next[head] >= 0 {
            if entry >= 0 && entry < count {
                let index = entry
                if let step = model.step(index), isCanonical(index) {
                    lift(index, step)
                    let base = forced.count
                    liftForced()
                    if next[head] < 0 && model.acceptsEnd { return .linearizable }
                    if next[head] >= 0 && !model.isDead && cache.insert(key).inserted {
                        states += 1
                        if states > maxStates { return .exhausted }
                        frames.append(Frame(operation: index, step: step, forcedBase: base))
                        entry = next[head]
                        continue
                    }
                    undoForced(to: base)
                    unlift(index, step)
                }
                entry = next[entry]
            } else {
                // The return of an operation not yet linearized (or the end): back off.
                guard let frame = frames.popLast() else { return .notLinearizable }
                undoForced(to: frame.forcedBase)
                unlift(frame.operation, frame.step)
                entry = next[frame.operation]
            }
        }
        return .linearizable
    }
}
