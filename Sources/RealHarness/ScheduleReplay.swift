import BookingCore
import Checking
import RunObservation
import Simulation

/// A schedule file (written by `check`, `shrink` or `sweep`) replayed on the real stack: the
/// simulator replays it first, exactly, to tell its story (`ReplayStory`); each real run then
/// follows that story with barriers (`StoryReplay`) and is judged on the real databases and
/// Redis, and says whether the schedule's violation came back there.
public struct ScheduleReplay: Sendable {
    public let file: ScheduleFile
    /// The schedule's own run, replayed in the simulator.
    public let simulated: RunVerdict
    /// Whether the simulated replay made every choice of the file and what came back.
    public let simulatedProblems: [String]
    public let simulatedFindings: [String]
    public let story: ReplayStory
    /// The scenario as the schedule ran, with the variant the real runs serve.
    public let scenario: Scenario
    /// The invariant the schedule violates, if it names one.
    public let invariant: Invariant?

    /// `scheduled`: the scenario as the file ran it (`ScheduleFile.scenario(from:)`);
    /// `variant`: serve this one in the real runs instead of the file's (the story stays the
    /// file's own).
    public init(file: ScheduleFile, scheduled: Scenario, variant: Variant? = nil) {
        let (verdict, problems, findings) = Verdicts.replay(scheduled, seed: file.seed, schedule: file, maxSteps: nil)
        self.file = file
        self.simulated = verdict
        self.simulatedProblems = problems
        self.simulatedFindings = findings
        self.story = verdict.simulation.map { ReplayStory.told(by: $0, scenario: scheduled).sendsHeldBack() }
            ?? ReplayStory(steps: [], messageLosses: [], notReplayed: ["the simulated replay recorded no trace"])
        var real = scheduled
        if let variant { real.variant = variant }
        self.scenario = real
        self.invariant = file.violates.flatMap(Invariant.init(rawValue:))
    }

    public struct Result: Sendable {
        public var run: UInt64
        public var verdict: RunVerdict
        public var outcome: StoryReplay.Outcome
        /// The schedule's violation came back on the real stack.
        public var reproduced: Bool
    }

    /// One real run of the story on `stack` (started with `armFaults`).
    public func run(_ number: UInt64, on stack: RealStack, stepTimeout: Duration = .seconds(10),
                    announce: @escaping @Sendable (String) -> Void) async throws -> Result {
        var replay = StoryReplay(stack: stack, scenario: scenario, story: story, announce: announce)
        replay.stepTimeout = stepTimeout
        let outcome = try await replay.once(run: number)
        let verdict = outcome.run.verdict(scenario)
        let reproduced = invariant.map { wanted in verdict.violations.contains { $0.invariant == wanted } } ?? !verdict.violations.isEmpty
        return Result(run: number, verdict: verdict, outcome: outcome, reproduced: reproduced)
    }

    /// The story, one numbered line per step, then what it leaves out.
    public var storyText: String {
        var lines = ["the story real mode follows (\(story.steps.count) steps, from the simulated replay; a send comes just before "
                     + "the request's first barrier, where its earlier lock attempts failed and changed nothing):"]
        for (index, timed) in story.steps.enumerated() {
            lines.append("  \(index + 1). at \(formatSeconds(timed.time)) simulated: \(timed.step)")
        }
        for loss in story.messageLosses {
            lines.append("  the inventory's \(loss.losesReply ? "reply to" : "request of") booking-\(loss.replica)'s call \(loss.call) is lost")
        }
        for note in story.notReplayed { lines.append("  not replayed: \(note)") }
        return lines.joined(separator: "\n")
    }

    /// `reproduced on real Redis and PostgreSQL: <invariant> ...` or `not reproduced: ...`,
    /// with the step where the real run left the story.
    public func line(_ result: Result) -> String {
        let wanted = invariant?.rawValue ?? "a safety invariant"
        let departure = result.outcome.departure
        let followed = "followed \(result.outcome.followed) of its \(story.steps.count) steps"
        var line: String
        if result.reproduced {
            let shown = result.verdict.violations.first { $0.invariant == invariant } ?? result.verdict.violations[0]
            line = "reproduced on real Redis and PostgreSQL: \(shown.invariant.rawValue): \(shown.message)"
            if let departure { line += " (though the real run left the story at \(departure), and \(followed))" }
        } else if let departure {
            line = "not reproduced: the real run departed from the story at \(departure), and \(followed); \(wanted) held"
        } else {
            line = "not reproduced: the real run followed all \(story.steps.count) steps and \(wanted) held"
        }
        let others = Set(result.verdict.violations.map(\.invariant)).subtracting(invariant.map { [$0] } ?? [])
        if !others.isEmpty { line += "; also violated: \(others.map(\.rawValue).sorted().joined(separator: ", "))" }
        return line
    }
}
