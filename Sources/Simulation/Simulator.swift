import BookingCore
import RunObservation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a simulated run could not be completed. Each is a bug in the harness or in the code
/// under test, never a property of the booking algorithm's results.
public enum SimulationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// A job reached the simulator from another thread: something escaped the executor
    /// (`Task {}`, `Task.detached`, `Task.sleep`, a `ContinuousClock`, the main actor, a
    /// dispatch queue). The run's determinism is gone.
    case foreignEnqueue(String)
    /// A simulated service was used from a thread that is not the simulator's.
    case offThreadAccess(String)
    /// The run used more steps or virtual time than its budget.
    case budgetExceeded(String)
    /// Nothing can run and no timer is due, but tasks still wait: a hang.
    case stuck([String])

    public var description: String {
        switch self {
        case .foreignEnqueue(let detail):
            "a job was enqueued from a foreign thread (\(detail)); code under simulation must not use Task {}, Task.detached, Task.sleep, ContinuousClock, DispatchQueue or the main actor"
        case .offThreadAccess(let detail):
            "a simulated service was used off the simulator's thread (\(detail)); something escaped the simulator's executor"
        case .budgetExceeded(let detail):
            "the run did not finish within its budget: \(detail)"
        case .stuck(let waiting):
            "the run cannot finish: nothing is ready and no timer is due, yet these still wait: " + waiting.joined(separator: "; ")
        }
    }
}

/// Limits that turn a run that would not end into a loud failure.
public struct SimulationBudget: Hashable, Sendable {
    public var maxSteps: Int
    public var maxVirtualTime: Duration
    public init(maxSteps: Int = 50_000_000, maxVirtualTime: Duration = .seconds(24 * 3600)) {
        self.maxSteps = maxSteps
        self.maxVirtualTime = maxVirtualTime
    }
}

/// A parked task: the simulator resumes it exactly once, or, if its process crashed, only at
/// teardown (a crash never resumes a pending continuation while the world still runs).
public final class Waker: @unchecked Sendable {
    @exclusivity(unchecked) fileprivate var continuation: UnsafeContinuation<Void, Never>?
    public let process: ProcessContext
    let label: StaticString
    /// The user the parked task works for (`RequestOrigin.user` when it parked).
    let owner: Int32
    @exclusivity(unchecked) fileprivate var previous: Waker?
    @exclusivity(unchecked) fileprivate(set) var next: Waker?

    fileprivate init(process: ProcessContext, label: StaticString, continuation: UnsafeContinuation<Void, Never>) {
        self.process = process
        self.label = label
        self.owner = Int32(truncatingIfNeeded: RequestOrigin.user)
        self.continuation = continuation
    }
}

/// A timer; cancelled timers are dropped without advancing virtual time. Like `Waker`, only
/// ever touched on the simulator's thread.
public final class SimTimer: @unchecked Sendable {
    let deadline: Int64
    let sequence: UInt64
    @exclusivity(unchecked) fileprivate(set) var action: (() -> Void)?
    fileprivate init(deadline: Int64, sequence: UInt64, action: @escaping () -> Void) {
        self.deadline = deadline
        self.sequence = sequence
        self.action = action
    }
    public func cancel() { action = nil }
}

/// The deterministic, single-threaded, discrete-event core.
///
/// It is the `TaskExecutor` every simulated task prefers: ready jobs wait here as `UnownedJob`s
/// and run one at a time on the thread that created the simulator; the scheduler's seeded stream
/// picks which. Virtual time advances only when no job is ready, to the earliest timer (ties
/// broken by insertion order). All state is confined to that one thread, hence `@unchecked`.
public final class Simulator: TaskExecutor, @unchecked Sendable {
    @exclusivity(unchecked) public private(set) var now: Int64 = 0
    public let seed: UInt64
    /// Where every decision of the run comes from (seeded random unless a strategy says otherwise).
    public let source: any ChoiceSource
    public let trace: Trace
    public let budget: SimulationBudget

    /// Every decision where there was one. Seed + choices = the run.
    @exclusivity(unchecked) public internal(set) var choices: [Choice] = []
    /// Set by a strategy that has seen enough of this run (a state already explored): the run
    /// stops at once, is not checked, and its parked tasks are drained.
    @exclusivity(unchecked) public private(set) var abandoned = false
    /// Fire every timer due at an instant before running the jobs they wake (set by strategies
    /// that explore orders: see `ChoiceSource.groupsSimultaneousTimers`).
    public let groupsSimultaneousTimers: Bool
    @exclusivity(unchecked) public var recordsChoices = false
    @exclusivity(unchecked) public private(set) var steps = 0
    @exclusivity(unchecked) public private(set) var failure: SimulationFailure?
    /// After quiescence the world is sealed: every simulated service refuses work at once, so
    /// that parked tasks can be resumed and run to their end without effects.
    @exclusivity(unchecked) public private(set) var sealed = false

    @exclusivity(unchecked) private var ready: [UnownedJob] = []
    /// For each ready job, the user on whose behalf it runs (`RequestOrigin.user` of the task
    /// that woke it): the "thread" PCT gives priorities to.
    @exclusivity(unchecked) private(set) var readyOwners: [Int32] = []
    /// The owner of the job running now, and of the waker being resumed.
    @exclusivity(unchecked) private var runningOwner: Int32 = 0
    @exclusivity(unchecked) private var resumingOwner: Int32?
    @exclusivity(unchecked) private(set) var timers = TimerHeap()
    @exclusivity(unchecked) private var timerSequence: UInt64 = 0
    private let ownerThread: pthread_t
    private let foreignJobs = Mutex<[String]>([])
    private let sawForeignJob = Atomic<Bool>(false)

    @exclusivity(unchecked) private(set) var parkedHead: Waker?
    @exclusivity(unchecked) private var parkedCount = 0
    @exclusivity(unchecked) private var crashedWakers: [Waker] = []
    @exclusivity(unchecked) private(set) var incarnations: [ProcessID: Int] = [:]
    /// Stop-the-world pauses: a paused process's tasks are not resumed before this time.
    @exclusivity(unchecked) private(set) var pausedUntil: [ProcessID: Int64] = [:]

    /// Spawned tasks are spread over several task groups: the runtime removes a finished child
    /// from its group's list by walking it, so one group of thousands of children is quadratic.
    private final class SpawnShard: @unchecked Sendable {
        @exclusivity(unchecked) var queue: [@Sendable () async -> Void] = []
        @exclusivity(unchecked) var waker: Waker?
    }
    private let shards: [SpawnShard]
    @exclusivity(unchecked) private var nextShard = 0
    private let spawnerContext = ProcessContext(id: ProcessID(kind: .harness, index: 0), incarnation: 0)

    /// `spawnShards`: how many task groups hold spawned tasks; about one per 64 concurrent ones.
    public init(seed: UInt64, trace: Trace = Trace(mode: .hashOnly), budget: SimulationBudget = SimulationBudget(),
                spawnShards: Int = 1, source: (any ChoiceSource)? = nil) {
        self.seed = seed
        self.source = source ?? SeededChoices(seed: seed)
        self.groupsSimultaneousTimers = self.source.groupsSimultaneousTimers
        self.trace = trace
        self.budget = budget
        self.ownerThread = pthread_self()
        self.shards = (0..<max(1, spawnShards)).map { _ in SpawnShard() }
        ready.reserveCapacity(256)
    }

    // MARK: TaskExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        guard pthread_equal(pthread_self(), ownerThread) != 0 else {
            // Never touch `ready` from here: it belongs to the simulator's thread.
            foreignJobs.withLock { $0.append("job \(unowned) from another thread") }
            sawForeignJob.store(true, ordering: .releasing)
            return
        }
        ready.append(unowned)
        readyOwners.append(resumingOwner ?? runningOwner)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    // MARK: Time

    /// Runs `action` at virtual time `deadline` (never in the past).
    @discardableResult
    public func schedule(at deadline: Int64, _ action: @escaping () -> Void) -> SimTimer {
        timerSequence &+= 1
        let timer = SimTimer(deadline: max(deadline, now), sequence: timerSequence, action: action)
        timers.push(timer)
        return timer
    }

    @discardableResult
    public func schedule(after delay: Int64, _ action: @escaping () -> Void) -> SimTimer {
        schedule(at: now &+ max(0, delay), action)
    }

    // MARK: Processes

    public func incarnation(of process: ProcessID) -> Int { incarnations[process] ?? 0 }

    public func isAlive(_ context: ProcessContext) -> Bool {
        // Most runs crash nothing: skip the lookup then (this is on every wake-up).
        if incarnations.isEmpty { return context.incarnation == 0 }
        return incarnation(of: context.id) == context.incarnation
    }

    /// Crashes `process`: its parked tasks are never resumed while the world runs, and the
    /// callers of `crash` roll back its transactions and forget its connections. Returns the
    /// context the restarted process will run as.
    @discardableResult
    public func crash(_ process: ProcessID) -> ProcessContext {
        let next = incarnation(of: process) + 1
        incarnations[process] = next
        return ProcessContext(id: process, incarnation: next)
    }

    /// Stops `process` until `until` (virtual time): nothing of it resumes before then.
    public func pause(_ process: ProcessID, until: Int64) {
        pausedUntil[process] = max(until, pausedUntil[process] ?? 0)
    }

    /// When a pause of `process` ends, if it is paused now.
    public func pauseEnd(of process: ProcessID) -> Int64? {
        guard !pausedUntil.isEmpty, let until = pausedUntil[process] else { return nil }
        if until <= now {
            pausedUntil[process] = nil
            return nil
        }
        return until
    }

    // MARK: Parking

    /// Parks the current task until `wake(_:)`; `register` runs synchronously with the waker.
    public func park(_ process: ProcessContext, _ label: StaticString, _ register: (Waker) -> Void) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let waker = Waker(process: process, label: label, continuation: continuation)
            link(waker)
            register(waker)
        }
    }

    /// Resumes a parked task (a second call does nothing). A task of a crashed process stays
    /// parked until teardown.
    public func wake(_ waker: Waker) {
        guard let continuation = waker.continuation else { return }
        if !sealed && !isAlive(waker.process) {
            return
        }
        if !sealed, let until = pauseEnd(of: waker.process.id) {
            schedule(at: until) { [self] in wake(waker) }
            return
        }
        waker.continuation = nil
        unlink(waker)
        resumingOwner = waker.owner
        continuation.resume()
        resumingOwner = nil
    }

    private func link(_ waker: Waker) {
        waker.next = parkedHead
        parkedHead?.previous = waker
        parkedHead = waker
        parkedCount += 1
    }

    private func unlink(_ waker: Waker) {
        if let previous = waker.previous { previous.next = waker.next } else { parkedHead = waker.next }
        waker.next?.previous = waker.previous
        waker.previous = nil
        waker.next = nil
        parkedCount -= 1
    }

    // MARK: Spawning

    /// Starts `body` as a new task of the run (a request handler in a server process). Tasks
    /// are created by one spawner task in a task group, in request order, so creation is
    /// deterministic and stays on this executor (unlike `Task {}`).
    public func spawn(_ body: @escaping @Sendable () async -> Void) {
        let shard = shards[nextShard]
        nextShard = nextShard + 1 == shards.count ? 0 : nextShard + 1
        shard.queue.append(body)
        if let waker = shard.waker {
            shard.waker = nil
            wake(waker)
        }
    }

    private func spawnerLoop(_ shard: SpawnShard) async {
        await withDiscardingTaskGroup { group in
            while true {
                if shard.queue.isEmpty {
                    if sealed { return }
                    await park(spawnerContext, "spawner") { shard.waker = $0 }
                    continue
                }
                let batch = shard.queue
                shard.queue.removeAll(keepingCapacity: true)
                for body in batch where !sealed {
                    group.addTask(operation: body)
                }
            }
        }
    }

    // MARK: Running

    /// Runs `main` and everything it spawns to quiescence, calls `atQuiescence` (where the
    /// caller checks invariants on the world as it stands), then seals the world and drains
    /// every parked task. Must be called on the thread that created the simulator, from a plain
    /// synchronous context.
    public func run(_ main: @escaping @Sendable () async -> Void, atQuiescence: () -> Void = {}) -> SimulationFailure? {
        precondition(pthread_equal(pthread_self(), ownerThread) != 0,
                     "Simulator.run must be called on the thread that created the simulator")
        let root = Task(executorPreference: self) { [self] in
            // The only unstructured task of a run: its executor preference keeps every job on
            // this simulator, so it does not escape like a plain `Task {}` would.
            await withDiscardingTaskGroup { group in
                group.addTask { await main() }
                for shard in self.shards {
                    group.addTask { await self.spawnerLoop(shard) }
                }
            }
        }
        _ = root
        drive()
        if failure == nil && !abandoned {
            let waiting = describeParked(excludingSpawner: true)
            if !waiting.isEmpty && crashedAll(waiting: waiting) == false {
                failure = .stuck(waiting)
            }
        }
        atQuiescence()
        sealAndDrain()
        return failure
    }

    private func crashedAll(waiting: [String]) -> Bool {
        var waker = parkedHead
        while let current = waker {
            if current.process.id.kind != .harness && isAlive(current.process) { return false }
            waker = current.next
        }
        return true
    }

    private func drive() {
        let maxTime = budget.maxVirtualTime.nanoseconds
        while failure == nil {
            if sawForeignJob.load(ordering: .acquiring) {
                failure = .foreignEnqueue(foreignJobs.withLock { $0.joined(separator: ", ") })
                return
            }
            if !ready.isEmpty {
                let width = ready.count
                var index = 0
                if width > 1 {
                    index = source.pickJob(owners: readyOwners)
                    if recordsChoices { choices.append(Choice(kind: .schedule, value: UInt64(index), width: UInt64(width))) }
                    if abandoned { return }
                }
                let job = ready[index]
                runningOwner = readyOwners[index]
                ready[index] = ready[width - 1]
                ready.removeLast()
                readyOwners[index] = readyOwners[width - 1]
                readyOwners.removeLast()
                steps += 1
                if steps > budget.maxSteps {
                    failure = .budgetExceeded("more than \(budget.maxSteps) steps")
                    return
                }
                job.runSynchronously(on: asUnownedTaskExecutor())
                continue
            }
            guard let timer = timers.pop() else { return }
            guard let action = timer.action else { continue }
            if timer.deadline > maxTime {
                failure = .budgetExceeded("virtual time passed \(budget.maxVirtualTime)")
                return
            }
            now = timer.deadline
            timer.action = nil
            // Timers count as steps too, so a storm of timers that never lets the run end
            // fails as over budget instead of hanging.
            steps += 1
            if steps > budget.maxSteps {
                failure = .budgetExceeded("more than \(budget.maxSteps) steps (jobs and timers)")
                return
            }
            action()
            if groupsSimultaneousTimers {
                // Everything due at this instant happens before any woken job runs, so the
                // order of those jobs is the strategy's choice, not the timers' insertion order.
                while let next = timers.peekDeadline(), next == now, let timer = timers.pop() {
                    guard let action = timer.action else { continue }
                    timer.action = nil
                    steps += 1
                    action()
                }
            }
        }
    }

    private func sealAndDrain() {
        sealed = true
        while let timer = timers.pop() { timer.action = nil }
        // Resume everything still parked; sealed services answer at once with errors, so each
        // task runs to its end without touching the world.
        while true {
            while let waker = parkedHead {
                wake(waker)
            }
            for shard in shards {
                if let waker = shard.waker {
                    shard.waker = nil
                    wake(waker)
                }
            }
            guard !ready.isEmpty else { break }
            while let job = ready.popLast() {
                readyOwners.removeLast()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    private func describeParked(excludingSpawner: Bool) -> [String] {
        var result: [String] = []
        var waker = parkedHead
        while let current = waker {
            if !(excludingSpawner && current.process.id.kind == .harness) {
                result.append("\(current.process.id) at \(current.label)")
            }
            waker = current.next
        }
        return result.sorted()
    }

    /// Checks that a simulated service is used on the simulator's thread; records a failure
    /// otherwise (the caller then refuses the operation).
    public func onSimulatorThread(_ what: @autoclosure () -> String) -> Bool {
        if pthread_equal(pthread_self(), ownerThread) != 0 { return true }
        foreignJobs.withLock { $0.append("off-thread use of \(what())") }
        sawForeignJob.store(true, ordering: .releasing)
        return false
    }

    /// Stops the run where it stands (see `abandoned`).
    public func abandon() { abandoned = true }

    public func fail(_ failure: SimulationFailure) {
        if self.failure == nil { self.failure = failure }
    }
}
