import Checking
import Reports
import Testing

/// The fields `overbook sweep` puts on its invocation line, for the seeds this process runs.
@Suite struct SweepRequestTests {
    @Test func theInvocationFieldsNameTheSliceAndTheShardOfTheRange() {
        var request = SweepRequest(seeds: 1...100, shard: nil, jobs: 2, stopOn: [.latencyP95, .capacity], outputPath: nil, junitPath: nil,
                                   build: "test", shrink: nil)
        #expect(request.invocationFields(slice: 1...100) == ["seeds=1..100", "jobs=2", "stop_on=bookings-within-capacity,slo-p95"])
        request.shard = SweepShard(index: 2, count: 4)
        request.stopOn = []
        #expect(request.invocationFields(slice: 26...50) == ["seeds=26..50", "jobs=2", "stop_on=", "shard=2/4 of 1..100"])
    }
}
