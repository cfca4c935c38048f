import BookingCore
import Testing
@testable import Simulation

@Suite struct ScenarioRunSmokeTests {
    @Test func seedExperimentRunsToQuiescence() {
        let output = ScenarioSimulation.run(.seedExperiment(), seed: 1)
        #expect(output.failure == nil)
        let statuses = output.outcomes.map { $0.status ?? -1 }
        #expect(statuses.filter { $0 == 201 }.count == 1)
        #expect(output.outcomes.allSatisfy { $0.finished })
        print("statuses", Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count), "steps", output.steps, "events", output.traceCount, "end", output.quiescent.time)
    }
}
