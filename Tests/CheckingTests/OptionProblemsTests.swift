import BookingCore
import Checking
import RunObservation
import Testing

/// The option checks the CLI's validate() hands the library: each names the option in the
/// words `overbook` prints, and a valid value passes.
@Suite struct OptionProblemsTests {
    @Test func anUnknownVariantIsNamedWithTheSyntax() {
        let registry = VariantRegistry.standard
        #expect(registry.problem("crash-safe") == nil)
        #expect(registry.problem("atomic+fenced") == nil)
        #expect(registry.problem("nope") == "--variant must be \(registry.syntax); got 'nope'")
        #expect(registry.problem("nope", option: "--variants")?.hasPrefix("--variants must be ") == true)
    }

    @Test func checksBoundsAndBudget() {
        func problem(users: Int? = nil, maxFaults: Int = 1, preemptions: Int = 2, maxDepth: Int = 500, depth: Int = 2, budget: Double = 60) -> String? {
            CheckPlan.problem(users: users, maxFaults: maxFaults, preemptions: preemptions, maxDepth: maxDepth, depth: depth, budget: budget)
        }
        #expect(problem() == nil)
        #expect(problem(users: 0) == "--users must be at least 1")
        #expect(problem(maxFaults: -1) == "--max-faults and --preemptions must be >= 0, --depth and --max-depth >= 1")
        #expect(problem(depth: 0) == problem(maxDepth: 0))
        #expect(problem(budget: 0) == "--budget must be positive (seconds)")
        #expect(problem(users: 0, budget: 0) == "--users must be at least 1", "the first problem, in the order validate() checked them")
    }

    @Test func anInvariantListNamesItsFirstUnknownName() {
        #expect(Invariant.problem(list: nil, option: "--stop-on") == nil)
        #expect(Invariant.problem(list: "bookings-within-capacity,slo-p95", option: "--stop-on") == nil)
        #expect(Invariant.problem(list: "bookings-within-capacity,nope,worse", option: "--stop-on")
                == "--stop-on: unknown invariant 'nope'; use: \(Invariant.names)")
        #expect(Invariant.set(list: "slo-p95,bookings-within-capacity") == [.latencyP95, .capacity])
        #expect(Invariant.set(list: nil).isEmpty)
    }

    @Test func swarmIsTheSwarmProfile() {
        #expect(FaultProfile.selected(profile: nil, swarm: true)?.name == "swarm")
        #expect(FaultProfile.selected(profile: "crashes", swarm: false)?.name == "crashes")
        #expect(FaultProfile.selected(profile: "nope", swarm: false) == nil)
        #expect(FaultProfile.selected(profile: nil, swarm: false) == nil)
    }
}
