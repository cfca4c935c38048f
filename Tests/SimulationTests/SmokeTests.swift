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

    /// Sync workers: one booking replica with one worker and room for one more request in its
    /// accept queue. Of four users arriving together the first is served, the second waits
    /// its turn (its latency holds the first's whole handling), and the other two are answered
    /// 503 at once without reaching the booking code.
    @Test func syncWorkersQueueFirstComeFirstServedAndRefusePastTheBacklog() {
        var scenario = Scenario.seedExperiment(users: 4)
        scenario.bookingReplicas = 1
        scenario.latency = LatencyProfile(hops: [:])
        scenario.bookingServing = Serving(workers: 1, backlog: 1, serviceTime: .fixed(.milliseconds(10)))
        let output = ScenarioSimulation.run(scenario, seed: 1)
        #expect(output.failure == nil)
        let refused = output.outcomes.filter { $0.status == 503 && ($0.latency ?? -1) == 0 }
        #expect(refused.count == 2, "\(output.outcomes.map { ($0.status ?? -1, $0.latency ?? -1) })")
        let served = output.outcomes.filter { ($0.latency ?? 0) > 0 }.sorted { $0.latency! < $1.latency! }
        #expect(served.map(\.status) == [201, 409])
        #expect(served[0].latency! >= 10_000_000, "the service time is spent")
        #expect(served[1].latency! >= 2 * served[0].latency! - 1_000, "the second waited for the first's whole handling")
    }
}
