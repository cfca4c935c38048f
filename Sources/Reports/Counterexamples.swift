import BookingCore
import Checking
import RunObservation
import Simulation

/// What `check`, `shrink` and `sweep` do with a failing run: write its schedule file under
/// `directory`, print it with its replay command, publish its replay report (timeline,
/// explanation) unless `writeReports` is false, and shrink it. Throws `ScheduleFileError`
/// when a schedule file cannot be written and `ShrinkError` when a run does not fail as said.
public struct Counterexamples: Sendable {
    /// The scenario file the runs come from, as the replay commands and reports name it.
    public var scenarioPath: String
    public var directory: String
    public var writeReports: Bool
    public var output: CommandOutput
    /// Wall-clock seconds, for the search and shrink budgets.
    public var now: @Sendable () -> Double

    public init(scenarioPath: String, directory: String, writeReports: Bool, output: CommandOutput, now: @escaping @Sendable () -> Double) {
        self.scenarioPath = scenarioPath
        self.directory = directory
        self.writeReports = writeReports
        self.output = output
        self.now = now
    }

    /// `overbook check`: searches `plan`'s scenario for `seed` (with `--swarm` as `swarm` says),
    /// prints the summary and every counterexample, shrinks each within `shrinkBudget` (and the
    /// search's `budget`) seconds unless it is nil, and writes the JUnit file `junit` last,
    /// whatever happened. Returns whether it found a violation.
    public func check(_ plan: CheckPlan, strategy: SearchStrategy, bounds: SearchBounds, depth: Int, seed: UInt64, maxRuns: Int,
                      budget: Double, stopAtFirst: Bool, swarm: Bool, shrinkBudget: Double?, junit: (path: String, suite: String)?) throws -> Bool {
        let scenario = plan.scenario
        let report = strategy.search(scenario, bounds: bounds, depth: depth, firstSeed: seed, maxRuns: maxRuns, budgetSeconds: budget,
                                     stopAtFirst: stopAtFirst, now: now) { executions, states in
            output.status("exhaustive: \(executions) executions, \(states) distinct states")
        }
        output.statusDone()
        output.line(report.summary(of: scenario, bounds: bounds))
        var found: [Invariant: String] = [:]
        defer {
            if let junit {
                let xml = JUnitReport.check(report, suite: junit.suite) { found[$0.invariant] ?? $0.message }
                try? SweepRecordFile.writeJUnit(xml, to: junit.path, emit: output.line)
            }
        }
        for example in report.counterexamples {
            let file = example.schedule(scenarioPath: scenarioPath, seed: seed, variant: scenario.variant, profile: plan.profile, swarm: swarm,
                                       users: plan.users)
            let path = try file.write(named: "\(scenario.name)-\(strategy.rawValue)-\(example.invariant.rawValue)", in: directory)
            found[example.invariant] = example.foundText(schedule: path, replay: ReplayInvocation(scenarioPath: scenarioPath).schedule(path))
            output.line(found[example.invariant]!)
            publishReplay(scenario, seed: seed, choices: example.choices, grouped: example.groupsSimultaneousTimers, schedule: path)
            if let shrinkBudget {
                try self.shrink(scenario, seed: seed, invariant: example.invariant, source: file, choices: example.choices,
                                grouped: example.groupsSimultaneousTimers, budget: min(budget, shrinkBudget))
            }
        }
        return !report.counterexamples.isEmpty
    }

    /// Shrinks and prints the result with its replay command. `choices`: the failing run's, when
    /// it did not come from the seed alone (a check's counterexample).
    public func shrink(_ scenario: Scenario, seed: UInt64, invariant: Invariant?, source: ScheduleFile, choices: [Choice]?,
                       grouped: Bool = false, budget: Double) throws {
        let shrunk: ShrunkCounterexample
        do {
            defer { output.statusDone() }
            shrunk = try Shrinker.shrink(scenario, seed: seed, choices: choices, grouped: grouped, invariant: invariant,
                                         budgetSeconds: budget, now: now) {
                output.status("shrinking: \($0)")
            }
        }
        let file = shrunk.schedule(from: source, faultSpecs: scenario.faults.count)
        let path = try file.write(named: "\(scenario.name)-shrunk-\(shrunk.invariant.rawValue)", in: directory)
        output.line(shrunk.summary(faultSpecs: scenario.faults.count, schedule: path,
                                   replay: ReplayInvocation(scenarioPath: source.scenario).schedule(path)))
        publishReplay(shrunk.scenario(shrunkFrom: scenario), seed: seed, choices: shrunk.choices, grouped: shrunk.groupsSimultaneousTimers,
                      schedule: path)
    }

    /// The replay report (timeline, explanation) of the schedule just written at `schedule`.
    public func publishReplay(_ scenario: Scenario, seed: UInt64, choices: [Choice], grouped: Bool, schedule: String) {
        guard writeReports else { return }
        let verdict = Shrinker.replay(scenario, seed: seed, choices: choices, grouped: grouped, trace: .record)
        ReportPublisher(output: output).single(verdict, replay: ReplayInvocation(scenarioPath: scenarioPath), kind: "replay", schedule: schedule)
    }

    /// The words for an error these throw, or `nil` for another error.
    public static func describe(_ error: any Error) -> String? {
        (error as? ScheduleFileError)?.description ?? (error as? ShrinkError)?.description
    }
}
