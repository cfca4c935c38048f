import BookingCore
import RunObservation
import Simulation

/// How far a systematic search may go.
public struct SearchBounds: Hashable, Sendable {
    /// Faults that may fire in one execution (each a choice: fire here or not).
    public var maxFaults: Int
    /// Schedule choices that depart from the default order (delay bounding): the first ready job.
    public var maxPreemptions: Int
    /// Decisions per execution that may branch; past it every decision takes its default and
    /// the search reports itself as cut short by depth.
    public var maxDepth: Int
    /// Every message takes this long, on every hop: operations of users that start together
    /// then meet at the same instants, and their order becomes a schedule choice to explore
    /// (rather than an accident of latency draws that a search could not enumerate).
    public var latency: Int64
    /// Stop an execution at a state already explored (off: plain stateless search, to measure
    /// what caching saves and that it finds the same violations).
    public var stateCaching: Bool
    public init(maxFaults: Int = 1, maxPreemptions: Int = 2, maxDepth: Int = 500, latency: Duration = .milliseconds(1),
                stateCaching: Bool = true) {
        self.maxFaults = maxFaults
        self.maxPreemptions = maxPreemptions
        self.maxDepth = maxDepth
        self.latency = latency.nanoseconds
        self.stateCaching = stateCaching
    }
}

extension Scenario {
    /// The same scenario with only its first `count` users (for small-configuration searches).
    public func keepingUsers(_ count: Int) -> Scenario {
        var result = self
        var left = count
        result.users = users.compactMap { group in
            guard left > 0 else { return nil }
            var kept = group
            kept.count = min(group.count, left)
            left -= kept.count
            return kept
        }
        if let expected = expectedSuccesses { result.expectedSuccesses = min(expected, count) }
        return result
    }
}

/// A violation found by a strategy, with what replays it.
public struct Counterexample: Sendable {
    public var invariant: Invariant
    public var message: String
    /// The execution (1-based) that found it.
    public var execution: Int
    /// Every decision of that execution: `ListedChoices(choices)` replays it exactly.
    public var choices: [Choice]
    public var traceHash: UInt64
    /// How the run fired simultaneous timers (replay must do the same).
    public var groupsSimultaneousTimers: Bool
}

/// What a search did.
public struct SearchReport: Sendable {
    public var strategy: String
    /// `true` when every execution within the bounds was explored (exhaustive search only).
    public var completed: Bool
    /// Why it stopped early, when it did.
    public var stoppedBecause: String?
    public var executions: Int
    /// Distinct states seen at decision points (exhaustive search only).
    public var distinctStates: Int
    /// Executions stopped at a state already explored.
    public var prunedExecutions: Int
    /// Whether some execution reached the depth bound (then "completed" holds only up to it).
    public var depthLimited: Bool
    public var seconds: Double
    /// The first counterexample per invariant, in the order found.
    public var counterexamples: [Counterexample]
    /// Executions that broke some safety invariant (the hit rate, with `executions`).
    public var failingExecutions = 0
    public var runsToFirstViolation: Int?
    public var secondsToFirstViolation: Double?
}


extension SearchBounds {
    /// These bounds as the search applies them to `scenario`: the order of the requests waiting
    /// for a sync worker is not in the state hash, so two states that differ only there would
    /// be taken for one; with workers, no state caching.
    public func effective(for scenario: Scenario) -> SearchBounds {
        var bounds = self
        if scenario.bookingServing.workers != nil || scenario.inventoryServing.workers != nil { bounds.stateCaching = false }
        return bounds
    }
}

/// Stateless depth-first exploration of every choice sequence within bounds, by re-execution
/// (as CHESS and FoundationDB-style harnesses do), pruned by state caching: at each decision
/// point the world's state hash (`SimWorld.stateDigest`) and the bounds used so far are looked
/// up; a state already explored ends the execution there, since everything that can follow it
/// has been or is being explored from its first visit.
public final class ExhaustiveSearch {
    public let scenario: Scenario
    public let bounds: SearchBounds
    /// Only this invariant counts as a violation, when given.
    public let target: Invariant?
    private let explored = ExploredStates()
    /// Called with each execution's output, its trace events recorded (to look at what the
    /// search explored); when `nil`, traces are only hashed.
    public var onExecution: ((SimulationOutput) -> Void)?

    public init(scenario: Scenario, bounds: SearchBounds, target: Invariant? = nil) {
        self.scenario = scenario
        self.bounds = bounds.effective(for: scenario)
        self.target = target
    }

    /// Explores until done, `budgetSeconds` (wall time) run out, or, with `stopAtFirst`, the first
    /// violation. `now` is a wall clock in seconds (injected: this module reads no system time).
    public func run(budgetSeconds: Double, stopAtFirst: Bool = false, now: () -> Double,
                    progress: (Int, Int) -> Void = { _, _ in }) -> SearchReport {
        let start = now()
        var report = SearchReport(strategy: "exhaustive", completed: false, executions: 0, distinctStates: 0, prunedExecutions: 0,
                                  depthLimited: false, seconds: 0, counterexamples: [])
        var prefix: [UInt64] = []
        while true {
            let source = DepthFirstChoices(prefix: prefix, bounds: bounds, explored: explored)
            let monitor = InvariantMonitor(scenario: scenario)
            let options = SimulationOptions(traceMode: onExecution == nil ? .hashOnly : .record, recordChoices: true)
            let output = ScenarioSimulation.run(scenario, seed: scenario.seed, options: options, observer: monitor, source: source)
            onExecution?(output)
            report.executions += 1
            if source.depthLimited { report.depthLimited = true }
            if !output.abandoned {
                record(Verdicts.judge(scenario: scenario, observation: output.observation, simulation: output, duringRun: monitor.violations),
                       execution: report.executions, into: &report, elapsed: now() - start)
            } else {
                report.prunedExecutions += 1
                let known = Set(report.counterexamples.map(\.invariant))
                if monitor.violations.contains(where: { !known.contains($0.invariant) && (target == nil || target == $0.invariant) }) {
                    // Broken as it ran (an oversold commit), before the execution met an explored
                    // state: finish it without caching, so that the counterexample is a whole
                    // run that replays exactly.
                    var whole = bounds
                    whole.stateCaching = false
                    let finished = Verdicts.simulate(scenario, seed: scenario.seed, options: SimulationOptions(recordChoices: true),
                                                     source: DepthFirstChoices(prefix: source.takenValues, bounds: whole, explored: ExploredStates()))
                    record(finished, execution: report.executions, into: &report, elapsed: now() - start)
                }
            }
            if report.executions % 1000 == 0 { progress(report.executions, explored.hashes.count) }
            guard let next = source.nextPrefix() else {
                report.completed = true
                break
            }
            prefix = next
            if report.stops(atFirst: stopAtFirst, elapsed: now() - start, budgetSeconds: budgetSeconds) { break }
        }
        report.distinctStates = explored.hashes.count
        report.seconds = now() - start
        return report
    }

    private func record(_ verdict: RunVerdict, execution: Int, into report: inout SearchReport, elapsed: Double) {
        report.note(verdict, execution: execution, target: target, groupsSimultaneousTimers: true, elapsed: elapsed)
    }
}

extension SearchReport {
    /// Counts `verdict` and keeps its safety violations (of `target` only, when given) that no
    /// earlier execution showed, with the choices that replay it.
    mutating func note(_ verdict: RunVerdict, execution: Int, target: Invariant?, groupsSimultaneousTimers: Bool, elapsed: Double) {
        let broken = verdict.violations.filter { safetyInvariants.contains($0.invariant) && (target == nil || target == $0.invariant) }
        if !broken.isEmpty { failingExecutions += 1 }
        for violation in broken where !counterexamples.contains(where: { $0.invariant == violation.invariant }) {
            counterexamples.append(Counterexample(invariant: violation.invariant, message: violation.message, execution: execution,
                                                  choices: verdict.simulated.choices, traceHash: verdict.simulated.traceHash,
                                                  groupsSimultaneousTimers: groupsSimultaneousTimers))
            if runsToFirstViolation == nil {
                runsToFirstViolation = execution
                secondsToFirstViolation = elapsed
            }
        }
    }
}

/// The state hashes an exhaustive search has explored, shared by reference between the search
/// and each execution's choice source: a set handed over by value was copied whole by every
/// execution's first insert, which made the search quadratic in the states it had seen.
final class ExploredStates {
    var hashes: Set<UInt64> = []
}

/// The choice source of one execution of `ExhaustiveSearch`: follows `prefix`, then takes the
/// default at every new decision, noting each decision's alternatives for backtracking.
final class DepthFirstChoices: ChoiceSource {
    private let prefix: [UInt64]
    private let bounds: SearchBounds
    private let explored: ExploredStates
    /// Each branching decision: the alternative taken and how many there were.
    private var trail: [(value: UInt64, width: UInt64, kind: ChoiceKind)] = []
    private var faultsUsed = 0
    private var preemptionsUsed = 0
    private(set) var depthLimited = false
    private var names: [Int: UInt64] = [:]
    private weak var world: SimWorld?
    private var eventsAtLastDecision = -1
    private var decisionsSinceEvent = 0

    init(prefix: [UInt64], bounds: SearchBounds, explored: ExploredStates) {
        self.prefix = prefix
        self.bounds = bounds
        self.explored = explored
    }

    var groupsSimultaneousTimers: Bool { true }

    func attach(to world: SimWorld) {
        self.world = world
        world.simulator.trace.tracksTasks = true
    }

    /// A decision with `width` alternatives (at least 2): the prefix's, or the first at a new state.
    private func branch(_ width: UInt64, _ kind: ChoiceKind) -> UInt64 {
        let depth = trail.count
        if depth < prefix.count {
            trail.append((prefix[depth], width, kind))
            return prefix[depth]
        }
        guard depth < bounds.maxDepth else {
            depthLimited = true
            return 0
        }
        if bounds.stateCaching, let world {
            // Several decisions can follow one another with nothing observable between them
            // (one per fault spec at the same point): their place in that run is state too.
            let events = world.simulator.trace.count
            decisionsSinceEvent = events == eventsAtLastDecision ? decisionsSinceEvent + 1 : 0
            eventsAtLastDecision = events
            var key = FNV1a()
            key.feed(Int64(bitPattern: world.stateDigest()))
            key.feed(Int64(decisionsSinceEvent))
            key.feed(Int64(faultsUsed))
            key.feed(Int64(preemptionsUsed))
            key.feed(Int64(kind.hashValueStable))
            guard explored.hashes.insert(key.value).inserted else {
                world.simulator.abandon()
                return 0
            }
        }
        trail.append((0, width, kind))
        return 0
    }

    /// The alternatives this execution took at its branching decisions.
    var takenValues: [UInt64] { trail.map(\.value) }

    /// The prefix of the next execution in depth-first order, or `nil` when all are done.
    func nextPrefix() -> [UInt64]? {
        var index = trail.count - 1
        while index >= 0 {
            let step = trail[index]
            if step.value + 1 < step.width {
                return trail[..<index].map(\.value) + [step.value + 1]
            }
            index -= 1
        }
        return nil
    }

    func pickJob(owners: [Int32]) -> Int {
        guard preemptionsUsed < bounds.maxPreemptions else { return 0 }
        let value = Int(branch(UInt64(owners.count), .schedule))
        if value != 0 { preemptionsUsed += 1 }
        return value
    }

    func latency(low: Int64, high: Int64, tail: (numerator: Int, denominator: Int, low: Int64, high: Int64)?) -> Int64 {
        bounds.latency
    }

    func decide(_ kind: ChoiceKind, numerator: Int, denominator: Int) -> Bool {
        guard kind == .fault else { return true }
        guard faultsUsed < bounds.maxFaults else { return false }
        let fires = branch(2, .fault) == 1
        if fires { faultsUsed += 1 }
        return fires
    }

    func detail(_ kind: ChoiceKind, low: Int64, high: Int64) -> Int64 { low }

    func name(origin: Int) -> UInt64 {
        let count = names[origin, default: 0]
        names[origin] = count + 1
        return UInt64(truncatingIfNeeded: origin) << 32 | count
    }
}

extension ChoiceKind {
    /// A number per kind that is the same in every process (unlike `hashValue`).
    var hashValueStable: Int { ChoiceKind.allCases.firstIndex(of: self)! }
}

/// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010),
/// over the users a run serves. Each user (with everything that works for it: its client, its
/// request handlers) gets a random priority; the ready job of the highest-priority user runs;
/// at d-1 random steps the running user drops below every other. Faults are placed the same
/// way: at most `maxFaults` fire, at fault decisions drawn uniformly from the run's expected
/// number. For a bug of depth d among n users and k steps, one run finds it with probability
/// at least 1/(n·k^(d-1)). Latencies and other world draws stay seeded random.
public final class PCTChoices: ChoiceSource {
    private var random: SimRandom
    private let world: SeededChoices
    private let depth: Int
    private var priorities: [Int32: Int] = [:]
    private var changePoints: [Int] = []
    private var faultPoints: Set<Int> = []
    private var steps = 0
    private var faultDecisions = 0

    /// `expectedSteps`, `expectedFaultDecisions`: as counted in a calibration run of the scenario.
    public init(seed: UInt64, depth: Int, expectedSteps: Int, expectedFaultDecisions: Int, maxFaults: Int) {
        random = SimRandom(seed: seed, stream: 5)
        world = SeededChoices(seed: seed)
        self.depth = max(1, depth)
        let steps = max(1, expectedSteps)
        changePoints = (0..<(self.depth - 1)).map { _ in 1 + random.below(steps) }
        let decisions = max(1, expectedFaultDecisions)
        for _ in 0..<max(0, maxFaults) { faultPoints.insert(1 + random.below(decisions)) }
    }

    private func priority(of owner: Int32) -> Int {
        if let known = priorities[owner] { return known }
        // Initial priorities sit above every change point's (1..<d); a wide random draw is a
        // random permutation in effect, ties broken by the owner number.
        let drawn = depth + random.below(1 << 30)
        priorities[owner] = drawn
        return drawn
    }

    public func pickJob(owners: [Int32]) -> Int {
        var best = 0
        var bestPriority = priority(of: owners[0])
        for index in 1..<owners.count {
            let candidate = priority(of: owners[index])
            if candidate > bestPriority || (candidate == bestPriority && owners[index] < owners[best]) {
                best = index
                bestPriority = candidate
            }
        }
        steps += 1
        if let change = changePoints.firstIndex(of: steps) {
            priorities[owners[best]] = change + 1
        }
        return best
    }

    public func latency(low: Int64, high: Int64, tail: (numerator: Int, denominator: Int, low: Int64, high: Int64)?) -> Int64 {
        world.latency(low: low, high: high, tail: tail)
    }

    public func decide(_ kind: ChoiceKind, numerator: Int, denominator: Int) -> Bool {
        // Every fault is active; which ones fire is PCT's to place.
        guard kind == .fault else { return true }
        faultDecisions += 1
        return faultPoints.contains(faultDecisions)
    }

    public func detail(_ kind: ChoiceKind, low: Int64, high: Int64) -> Int64 { world.detail(kind, low: low, high: high) }
    public func name(origin: Int) -> UInt64 { world.name(origin: origin) }
    public var groupsSimultaneousTimers: Bool { true }
}

/// Runs a strategy that draws one execution per run index (seeded random, PCT) until a safety
/// violation, the run limit or the time budget.
public enum RandomizedSearch {
    public enum Strategy: Sendable {
        case random
        case pct(depth: Int, maxFaults: Int)
    }

    public static func run(_ scenario: Scenario, strategy: Strategy, firstSeed: UInt64, maxRuns: Int, budgetSeconds: Double,
                           stopAtFirst: Bool = true, now: () -> Double) -> SearchReport {
        let start = now()
        var report = SearchReport(strategy: "random", completed: false, executions: 0, distinctStates: 0, prunedExecutions: 0,
                                  depthLimited: false, seconds: 0, counterexamples: [])
        var calibration: (steps: Int, faults: Int) = (1, 1)
        if case .pct(let depth, _) = strategy {
            report.strategy = "pct (depth \(depth))"
            let sample = ScenarioSimulation.run(scenario, seed: firstSeed, options: SimulationOptions(recordChoices: true))
            calibration = (sample.choices.filter { $0.kind == .schedule }.count, sample.choices.filter { $0.kind == .fault }.count)
        }
        for index in 0..<maxRuns {
            let seed = firstSeed &+ UInt64(index)
            let source: any ChoiceSource = switch strategy {
            case .random: SeededChoices(seed: seed)
            case .pct(let depth, let maxFaults):
                PCTChoices(seed: seed, depth: depth, expectedSteps: calibration.steps, expectedFaultDecisions: calibration.faults,
                           maxFaults: maxFaults)
            }
            let verdict = Verdicts.simulate(scenario, seed: seed, options: SimulationOptions(recordChoices: true), source: source)
            report.executions += 1
            report.note(verdict, execution: report.executions, target: nil, groupsSimultaneousTimers: source.groupsSimultaneousTimers,
                        elapsed: now() - start)
            if report.stops(atFirst: stopAtFirst, elapsed: now() - start, budgetSeconds: budgetSeconds) { break }
        }
        report.seconds = now() - start
        return report
    }
}

extension SearchReport {
    /// Whether a search stops here (a violation found and only the first wanted, or its time
    /// spent), noting why.
    mutating func stops(atFirst stopAtFirst: Bool, elapsed: Double, budgetSeconds: Double) -> Bool {
        if stopAtFirst && !counterexamples.isEmpty {
            stoppedBecause = "stopped at the first violation"
            return true
        }
        if elapsed > budgetSeconds {
            stoppedBecause = "time budget of \(budgetSeconds) s spent"
            return true
        }
        return false
    }
}
