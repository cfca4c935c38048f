import BookingCore
import RunObservation
import Simulation

/// A failing run made small: fewer users, fewer faults, simpler choices, still failing the same
/// invariant.
public struct ShrunkCounterexample: Sendable {
    public var invariant: Invariant
    public var message: String
    public var originalUsers: Int
    public var users: Int
    /// Faults that fired in the shrunk run, every kind counted (a lost reply, a client retry too).
    public var faultsFired: Int
    public var originalFaultsFired: Int
    public var choices: [Choice]
    /// Indices into the original scenario's fault specs that the shrunk run keeps.
    public var keptFaults: [Int]
    /// How the shrunk run fires simultaneous timers (replay must do the same).
    public var groupsSimultaneousTimers: Bool
    public var originalChoices: Int
    /// Virtual time at which the shrunk run went quiet, and the original's.
    public var duration: Int64
    public var originalDuration: Int64
    public var traceHash: UInt64
    /// Candidate runs tried.
    public var attempts: Int
    public var seconds: Double
    /// How the small configuration was first found: "seeded random", "exhaustive search", or
    /// "the original" when no smaller user count failed.
    public var foundBy: String
}

public enum ShrinkError: Error, CustomStringConvertible {
    case doesNotFail(seed: UInt64, scenario: String)
    public var description: String {
        switch self {
        case .doesNotFail(let seed, let scenario):
            "seed \(seed) of \(scenario) violates no safety invariant: there is nothing to shrink (check the variant, --profile and --swarm match the failing run)"
        }
    }
}

/// Delta debugging (Zeller and Hildebrandt) for simulated runs. First the configuration: the
/// fewest users (1, 2, 3) for which seeded random runs, then a bounded exhaustive search with up
/// to 2 faults, still violate the same invariant; then the fewest fault specs. Then the choices: each fault that fired is
/// turned off where the run still fails, and runs of choices are set to their simplest value
/// (first job, no fault, the low end of a range), halving the chunk size as ddmin does. Each candidate is
/// replayed with `ListedChoices`; a candidate that still fails is kept as the choices it really
/// used, so the result replays exactly.
public enum Shrinker {
    /// `choices`: the failing run's decisions when it was not a plain seeded run (a check's
    /// counterexample); `nil` replays `seed` with seeded random choices.
    public static func shrink(_ scenario: Scenario, seed: UInt64, choices: [Choice]? = nil, grouped: Bool = false,
                              invariant wanted: Invariant? = nil,
                              budgetSeconds: Double = 60, now: () -> Double,
                              progress: (String) -> Void = { _ in }) throws(ShrinkError) -> ShrunkCounterexample {
        let start = now()
        var attempts = 1
        let original = choices.map { replay(scenario, seed: seed, choices: $0, grouped: grouped, trace: .record) }
            ?? Verdicts.simulate(scenario, seed: seed, options: SimulationOptions(traceMode: .record, recordChoices: true))
        guard let failure = original.violations.first(where: { safetyInvariants.contains($0.invariant) && (wanted == nil || $0.invariant == wanted) })
        else { throw .doesNotFail(seed: seed, scenario: scenario.name) }
        let invariant = failure.invariant
        func fails(_ verdict: RunVerdict) -> Bool {
            !verdict.simulated.abandoned && verdict.violations.contains { $0.invariant == invariant }
        }

        var best = (scenario: scenario, choices: original.simulated.choices, grouped: choices != nil && grouped)
        var foundBy = "the original"
        // 1. Fewer users.
        search: for users in 1...min(3, scenario.userCount) where users < scenario.userCount {
            let small = scenario.keepingUsers(users)
            progress("trying \(users) user\(users == 1 ? "" : "s")")
            for candidateSeed in 1...UInt64(300) {
                attempts += 1
                let verdict = Verdicts.simulate(small, seed: candidateSeed, options: SimulationOptions(recordChoices: true))
                if fails(verdict) {
                    best = (small, verdict.simulated.choices, false)
                    foundBy = "seeded random (seed \(candidateSeed))"
                    break search
                }
            }
            let search = ExhaustiveSearch(scenario: small, bounds: SearchBounds(maxFaults: 2, maxPreemptions: 2, maxDepth: 400),
                                          target: invariant)
            let found = search.run(budgetSeconds: max(1, (budgetSeconds - (now() - start)) / 4), stopAtFirst: true, now: now)
            attempts += found.executions
            if let example = found.counterexamples.first(where: { $0.invariant == invariant }) {
                let verdict = replay(small, seed: seed, choices: example.choices, grouped: true)
                if fails(verdict) {
                    best = (small, verdict.simulated.choices, true)
                    foundBy = "exhaustive search (\(found.executions) executions)"
                    break search
                }
            }
        }

        // 2. Fewer fault specs: drop each in turn while the current choices, or some seeded run,
        // of the smaller scenario still fail.
        progress("dropping fault specs")
        var keptFaults = Array(scenario.faults.indices)
        var position = 0
        while position < keptFaults.count && now() - start < budgetSeconds {
            var candidateKept = keptFaults
            candidateKept.remove(at: position)
            var candidate = best.scenario
            candidate.faults = candidateKept.map { scenario.faults[$0] }
            attempts += 1
            let again = replay(candidate, seed: seed, choices: best.choices, grouped: best.grouped)
            if fails(again) {
                best = (candidate, again.simulated.choices, best.grouped)
                keptFaults = candidateKept
                continue
            }
            var found = false
            for candidateSeed in 1...UInt64(200) {
                attempts += 1
                let verdict = Verdicts.simulate(candidate, seed: candidateSeed, options: SimulationOptions(recordChoices: true))
                if fails(verdict) {
                    best = (candidate, verdict.simulated.choices, false)
                    found = true
                    break
                }
            }
            if found { keptFaults = candidateKept } else { position += 1 }
        }

        // 3. Fewer faults fired and simpler choices, on the configuration found.
        func tryChoices(_ candidate: [Choice]) -> Bool {
            guard now() - start < budgetSeconds else { return false }
            attempts += 1
            let verdict = replay(best.scenario, seed: seed, choices: candidate, grouped: best.grouped)
            guard fails(verdict), isSimpler(verdict.simulated.choices, than: best.choices) else { return false }
            best = (best.scenario, verdict.simulated.choices, best.grouped)
            return true
        }
        progress("turning faults off")
        var index = 0
        while index < best.choices.count {
            let choice = best.choices[index]
            if choice.kind == .fault && choice.value == 1 {
                var candidate = best.choices
                candidate[index].value = 0
                if tryChoices(candidate) { continue }
            }
            index += 1
        }
        progress("simplifying choices")
        var chunk = max(1, best.choices.count / 2)
        while chunk >= 1 && now() - start < budgetSeconds {
            var offset = 0
            var changed = false
            while offset < best.choices.count {
                var candidate = best.choices
                var touched = false
                for position in offset..<min(offset + chunk, candidate.count)
                where candidate[position].value != 0 && Self.simplifiable.contains(candidate[position].kind) {
                    candidate[position].value = 0
                    touched = true
                }
                if touched && tryChoices(candidate) { changed = true } else { offset += chunk }
            }
            if !changed { chunk /= 2 }
        }

        let final = replay(best.scenario, seed: seed, choices: best.choices, grouped: best.grouped, trace: .record)
        let violation = final.violations.first { $0.invariant == invariant } ?? failure
        return ShrunkCounterexample(
            invariant: invariant, message: violation.message, originalUsers: scenario.userCount, users: best.scenario.userCount,
            faultsFired: final.simulated.coverage.faultsFired, originalFaultsFired: original.simulated.coverage.faultsFired,
            choices: final.simulated.choices, keptFaults: keptFaults, groupsSimultaneousTimers: best.grouped, originalChoices: original.simulated.choices.count,
            duration: final.observation.quiescent.time, originalDuration: original.observation.quiescent.time,
            traceHash: final.simulated.traceHash, attempts: attempts, seconds: now() - start, foundBy: foundBy)
    }

    /// Replays `choices` on `scenario` with every check on.
    public static func replay(_ scenario: Scenario, seed: UInt64, choices: [Choice], grouped: Bool = false,
                              trace: Trace.Mode = .hashOnly) -> RunVerdict {
        Verdicts.simulate(scenario, seed: seed, options: SimulationOptions(traceMode: trace, recordChoices: true),
                          source: ListedChoices(choices, groupsSimultaneousTimers: grouped))
    }

    /// Choices whose zero is their simplest valid value: the first ready job, no fault, the low
    /// end of a detail's range. Latencies are kept: they are recorded as delays, and a zero delay
    /// is one the scenario's latency profile could never draw. Names only name.
    static let simplifiable: Set<ChoiceKind> = [.schedule, .fault, .detail, .faultDetail]

    /// Fewer faults fired, then fewer decisions, then smaller values.
    static func isSimpler(_ a: [Choice], than b: [Choice]) -> Bool {
        func faults(_ list: [Choice]) -> Int { list.reduce(0) { $0 + ($1.kind == .fault && $1.value == 1 ? 1 : 0) } }
        let (fa, fb) = (faults(a), faults(b))
        if fa != fb { return fa < fb }
        if a.count != b.count { return a.count < b.count }
        for (x, y) in zip(a, b) where x.kind != .name && x.value != y.value { return x.value < y.value }
        return false
    }
}
