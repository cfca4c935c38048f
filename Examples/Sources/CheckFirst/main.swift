import BookingCore
import Checking
import RunObservation
import Scenarios
import Simulation

// Registers `check-first` beside the standard variants, loads a scenario that names it, then
// runs a swarm sweep (every invariant checked on every seed) and an exhaustive search of two
// users with up to one fault, for it and for the seed it departs from.

let registry = try VariantRegistry.standard.adding([
    VariantRegistry.Entry(.checkFirst, summary: CheckFirstFlow.summary),
])

let scenarioYAML = """
    name: last-room-twelve-users
    description: 12 users, one night, the last room, arrivals over 5 s
    variant: check-first
    rooms:
      - {id: 1, name: Standard Single, capacity: 1}
    users:
      - {count: 12, room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: {uniform: [0ms, 5s]}}
    expect: {successes: 1}
    """
let base = try ScenarioLoader.parse(yaml: scenarioYAML, file: "<check-first example>", variants: registry)
let seedCount = CommandLine.arguments.dropFirst().first.flatMap(UInt64.init) ?? 40
let seeds: ClosedRange<UInt64> = 1...max(1, seedCount)
let swarm = FaultProfile.named("swarm")!
let wallClock = ContinuousClock()
let started = wallClock.now
func seconds() -> Double {
    let elapsed = wallClock.now - started
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

print("variant \(Variant.checkFirst): \(CheckFirstFlow.summary)\n")
print("SWEEP \(base.name), seeds \(seeds.lowerBound)...\(seeds.upperBound), profile \(swarm.name)")
for variant in [Variant.seed, registry.variant(named: "check-first")!] {
    var scenario = base
    scenario.variant = variant
    var batch = BatchSummary()
    let sweepStarted = seconds()
    for seed in seeds {
        batch.add(Verdicts.simulate(swarm.apply(to: scenario, seed: seed), seed: seed))
    }
    let broken = Invariant.allCases.filter { safetyInvariants.contains($0) }.compactMap { invariant in
        batch.failures[invariant].map { "\(invariant.rawValue) in \($0.count) (first seed \($0.firstSeed))" }
    }
    let runsPerSecond = Double(batch.runs) / max(seconds() - sweepStarted, 1e-9)
    print("  \(variant.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(batch.runs) runs (\(Int(runsPerSecond)) runs/s), "
          + "\(batch.failedRuns) broke an invariant; safety: " + (broken.isEmpty ? "every invariant held" : broken.joined(separator: "; ")))
}

print("\nEXHAUSTIVE \(base.name), 2 users, at most 1 fault (the choices profile)")
for variant in [Variant.seed, Variant.checkFirst] {
    var scenario = base.keepingUsers(2)
    scenario.variant = variant
    scenario = FaultProfile.named("choices")!.apply(to: scenario, seed: scenario.seed)
    let report = ExhaustiveSearch(scenario: scenario, bounds: SearchBounds(maxFaults: 1)).run(budgetSeconds: 300, now: seconds)
    let found = report.counterexamples.isEmpty ? "no violation" : "violations: " + report.counterexamples.map(\.invariant.rawValue).joined(separator: ", ")
    print("  \(variant.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(report.completed ? "completed" : "NOT completed"), "
          + "\(report.executions) executions, \(report.distinctStates) distinct states; \(found)")
}
