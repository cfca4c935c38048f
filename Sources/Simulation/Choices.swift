/// Every decision a simulated run makes that is not fixed by the code under test: which ready
/// job runs next, how long a message takes, whether a fault fires here. They all come from one
/// `ChoiceSource`, so seeded random runs, PCT, exhaustive search, shrinking and `replay
/// --schedule` drive the very same run; the seed plus the list of choices describes a run exactly.
public enum ChoiceKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// Which of the jobs ready at this instant runs next.
    case schedule
    /// A message's delay on a hop, in nanoseconds.
    case latency
    /// Whether a scenario fault is active at all in this run (BUGGIFY's first decision).
    case activation
    /// Whether a fault fires at this call.
    case fault
    /// Any other draw of the world: which replica gets a request, a user's arrival time.
    case detail
    /// A fault's own parameter: a spike's size, which replica a fault picks.
    case faultDetail
    /// Bits that only name things (lock tokens): never a decision worth exploring.
    case name
}

/// One decision: `value` in `0..<width` (a `width` of 0 means any 64-bit value).
public struct Choice: Hashable, Sendable, Codable {
    public var kind: ChoiceKind
    public var value: UInt64
    public var width: UInt64
    public init(kind: ChoiceKind, value: UInt64, width: UInt64) {
        self.kind = kind
        self.value = value
        self.width = width
    }
}

/// Where a run's decisions come from. Called on the simulator's thread only; no I/O.
public protocol ChoiceSource: AnyObject {
    /// The index (in `0..<owners.count`, at least 2) of the ready job to run next;
    /// `owners[i]` is the user on whose behalf job `i` runs (0: none in particular).
    func pickJob(owners: [Int32]) -> Int
    /// A delay in `low...high`, or in the tail's range with the tail's probability.
    func latency(low: Int64, high: Int64, tail: (numerator: Int, denominator: Int, low: Int64, high: Int64)?) -> Int64
    /// `true` with probability `numerator / denominator` (0 < numerator < denominator).
    func decide(_ kind: ChoiceKind, numerator: Int, denominator: Int) -> Bool
    /// A value in `low...high` (low < high) for a `.detail` or `.faultDetail` draw.
    func detail(_ kind: ChoiceKind, low: Int64, high: Int64) -> Int64
    /// 64 bits naming something made on behalf of `origin` (a lock token).
    func name(origin: Int) -> UInt64
    /// Called once the world exists, before the run starts (strategies that look at state).
    func attach(to world: SimWorld)
    /// Whether timers due at the same instant all fire before the jobs they wake run, so that
    /// the order of simultaneous events is a schedule choice. Seeded random runs fire them one
    /// by one in insertion order (and keep the meaning of existing seeds).
    var groupsSimultaneousTimers: Bool { get }
}

extension ChoiceSource {
    public func attach(to world: SimWorld) {}
    public var groupsSimultaneousTimers: Bool { false }
}

/// Seeded random choices: the default strategy. Separate streams for the schedule, the world and
/// the faults, so that turning a fault on or off does not shift the world's draws more than the
/// fault itself does.
public final class SeededChoices: ChoiceSource {
    @exclusivity(unchecked) private var scheduler: SimRandom
    @exclusivity(unchecked) private var world: SimRandom
    @exclusivity(unchecked) private var faults: SimRandom

    public init(seed: UInt64) {
        scheduler = SimRandom(seed: seed, stream: 1)
        world = SimRandom(seed: seed, stream: 2)
        faults = SimRandom(seed: seed, stream: 3)
    }

    public func pickJob(owners: [Int32]) -> Int { scheduler.below(owners.count) }

    public func latency(low: Int64, high: Int64, tail: (numerator: Int, denominator: Int, low: Int64, high: Int64)?) -> Int64 {
        if let tail, world.chance(tail.numerator, in: tail.denominator) {
            return world.inRange(tail.low, tail.high)
        }
        return world.inRange(low, high)
    }

    public func decide(_ kind: ChoiceKind, numerator: Int, denominator: Int) -> Bool {
        faults.chance(numerator, in: denominator)
    }

    public func detail(_ kind: ChoiceKind, low: Int64, high: Int64) -> Int64 {
        kind == .faultDetail ? faults.inRange(low, high) : world.inRange(low, high)
    }

    public func name(origin: Int) -> UInt64 { world.next() }
}

/// Replays a recorded list of choices exactly (`overbook replay --schedule`), and feeds shrinking
/// its candidate lists. Past the end of the list, or where the list no longer fits the run (a
/// shrunk list), it answers with the simplest choice: the first job, the shortest delay, no fault.
public final class ListedChoices: ChoiceSource {
    public let list: [Choice]
    public private(set) var position = 0
    /// The first place the run asked for something the list did not hold there.
    public private(set) var divergence: String?
    /// How many decisions were answered past the end of the list.
    public private(set) var beyondEnd = 0

    public let groupsSimultaneousTimers: Bool

    /// `groupsSimultaneousTimers`: as the strategy that recorded `list` ran (see `ScheduleFile`).
    public init(_ list: [Choice], groupsSimultaneousTimers: Bool = false) {
        self.list = list
        self.groupsSimultaneousTimers = groupsSimultaneousTimers
    }

    private func next(_ kind: ChoiceKind, width: UInt64) -> UInt64? {
        guard position < list.count else {
            beyondEnd += 1
            return nil
        }
        let choice = list[position]
        position += 1
        guard choice.kind == kind else {
            if divergence == nil {
                divergence = "choice \(position - 1): the run asked for \(kind.rawValue), the schedule holds \(choice.kind.rawValue)"
            }
            return nil
        }
        if width != 0 && choice.value >= width {
            if divergence == nil { divergence = "choice \(position - 1): value \(choice.value) out of range 0..<\(width)" }
            return width - 1
        }
        return choice.value
    }

    public func pickJob(owners: [Int32]) -> Int { Int(next(.schedule, width: UInt64(owners.count)) ?? 0) }

    public func latency(low: Int64, high: Int64, tail: (numerator: Int, denominator: Int, low: Int64, high: Int64)?) -> Int64 {
        guard let value = next(.latency, width: 0) else { return low }
        return Int64(bitPattern: value)
    }

    public func decide(_ kind: ChoiceKind, numerator: Int, denominator: Int) -> Bool {
        guard let value = next(kind, width: 2) else { return kind == .activation }
        return value != 0
    }

    public func detail(_ kind: ChoiceKind, low: Int64, high: Int64) -> Int64 {
        low + Int64(next(kind, width: UInt64(bitPattern: high &- low) &+ 1) ?? 0)
    }

    public func name(origin: Int) -> UInt64 {
        next(.name, width: 0) ?? (UInt64(truncatingIfNeeded: origin) << 32 | UInt64(position))
    }
}

/// A schedule file: everything `overbook replay --schedule` needs besides the scenario file.
public struct ScheduleFile: Codable, Sendable, Equatable {
    public var format = "overbook-schedule/1"
    public var scenario: String
    public var seed: UInt64
    public var variant: String
    public var profile: String?
    public var swarm: Bool
    /// Users kept, when shrinking or `check --users` cut the scenario down.
    public var users: Int?
    /// Fault specs of the scenario kept, by index, when shrinking dropped some.
    public var faults: [Int]?
    /// What the run is expected to violate, when it was written for a counterexample.
    public var violates: String?
    public var traceHash: String?
    /// Whether timers due at one instant fired together (exhaustive search and PCT runs).
    public var groupsSimultaneousTimers: Bool?
    public var choices: [Choice]

    public init(scenario: String, seed: UInt64, variant: String, profile: String?, swarm: Bool, users: Int? = nil,
                faults: [Int]? = nil, violates: String? = nil, traceHash: String? = nil, groupsSimultaneousTimers: Bool? = nil,
                choices: [Choice]) {
        self.scenario = scenario
        self.seed = seed
        self.variant = variant
        self.profile = profile
        self.swarm = swarm
        self.users = users
        self.faults = faults
        self.violates = violates
        self.traceHash = traceHash
        self.groupsSimultaneousTimers = groupsSimultaneousTimers
        self.choices = choices
    }
}
