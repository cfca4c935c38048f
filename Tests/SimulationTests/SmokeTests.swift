import BookingCore
import Testing
@testable import Simulation

@Suite struct ScenarioRunSmokeTests {
    @Test func seedExperimentRunsToQuiescence() {
        let output = ScenarioSimulation.run(.seedExperiment(), seed: 1)
        #expect(output.failure == nil)
        let statuses = output.outcomes.map { $0.status ?? -1 }
        #expect(output.outcomes.allSatisfy { $0.finished })
        // Seed 1 is deterministic: one booking, two refusals, the rest lock contention.
        #expect(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count) == [201: 1, 409: 2, 503: 47])
        #expect(output.steps == 1108)
        #expect(output.traceCount == 627)
        #expect(output.quiescent.time == 713_808_922)
    }
}
