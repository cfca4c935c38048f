import Foundation
import Testing

/// `overbook real SCENARIO --schedule FILE`: each of the seed algorithm's known flaws, found
/// and shrunk by the simulator (`overbook check`), replayed on the test Redis and fresh
/// PostgreSQL databases by following the schedule's story with barriers; the violation comes
/// back there. A fixed variant served under the same story breaks nothing. Each replay takes a
/// second or two (the scenarios in `scenarios/real/` shorten the lock's TTL).
@Suite(.serialized) struct RealScheduleReplayTests {
    /// The shrunk schedule `overbook check` writes for `scenario` and `invariant`.
    static func shrunkSchedule(_ scenario: String, invariant: String, in scratch: Scratch) async throws -> String {
        let result = try await OverbookBinary.runOffThePool(["check", "scenarios/real/\(scenario).yaml", "--strategy", "random", "--budget", "30",
                                             "--max-faults", "0", "--no-report", "--schedule-dir", scratch.url.path])
        let path = scratch.file("real-\(scenario)-shrunk-\(invariant).json").path
        #expect(FileManager.default.fileExists(atPath: path), "\(result.output)\(result.error)")
        return path
    }

    static func replay(_ scenario: String, schedule: String, variant: String? = nil, redis: Int = 14) async throws -> OverbookBinary.Result {
        let redisURL = try RealModeServers.redisURL(database: redis)
        return try await RealModeServers.withDatabases(2) { databases in
            try await OverbookBinary.runOffThePool(["real", "scenarios/real/\(scenario).yaml", "--schedule", schedule, "--runs", "1", "--no-report",
                                    "--redis-url", redisURL, "--inventory-database-url", databases[0], "--booking-database-url", databases[1]]
                                   + (variant.map { ["--variant", $0] } ?? []))
        }
    }

    @Test(arguments: [
        ("lock-expiry", "bookings-within-capacity", "pause 1"),
        ("lost-reserve-reply", "inventory-matches-bookings", "reply-loss 1"),
        ("crash-between-commits", "inventory-matches-bookings", "crash 1"),
        ("retry-double-booking", "no-duplicate-booking", "client-retry 1"),
        ("overlapping-stays", "bookings-within-capacity", "none"),
    ])
    func theSeedsFlawIsReproducedOnRealRedisAndPostgreSQL(scenario: String, invariant: String, faults: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let schedule = try await Self.shrunkSchedule(scenario, invariant: invariant, in: scratch)
        let result = try await Self.replay(scenario, schedule: schedule)
        let output = result.output + result.error
        #expect(result.status == 1, "\(output)")
        #expect(output.contains("simulated replay: schedule: all "), "\(output)")
        #expect(output.contains("run 1: ") && output.contains("reproduced on real Redis and PostgreSQL: \(invariant): "), "\(output)")
        #expect(output.contains("\(invariant): reproduced on real Redis and PostgreSQL in 1 of 1 run; the story followed to its end in 1 of 1; faults fired: \(faults)"),
                "\(output)")
    }

    /// The seed's story served by `crash-safe`: the barriers stay in the seed's order as far
    /// as the fixed flow passes the same points; whatever the run departs at, nothing breaks.
    @Test(arguments: ["lock-expiry", "crash-between-commits"])
    func aFixedVariantUnderTheSameStoryBreaksNothing(scenario: String) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let invariant = scenario == "lock-expiry" ? "bookings-within-capacity" : "inventory-matches-bookings"
        let schedule = try await Self.shrunkSchedule(scenario, invariant: invariant, in: scratch)
        let result = try await Self.replay(scenario, schedule: schedule, variant: "crash-safe")
        let output = result.output + result.error
        #expect(result.status == 0, "\(output)")
        #expect(output.contains("served variant=atomic+idempotent+crash-safe"), "\(output)")
        #expect(output.contains("run 1: ") && output.contains("not reproduced: "), "\(output)")
        #expect(output.contains("\(invariant): reproduced on real Redis and PostgreSQL in 0 of 1 run"), "\(output)")
    }

    @Test func aScheduleReplayTakesNoSwarmOrReplicas() throws {
        let result = try OverbookBinary.run(["real", "scenarios/real/lock-expiry.yaml", "--schedule", "x.json", "--swarm"])
        #expect(result.status == 64, "\(result.output)\(result.error)")
        #expect(result.error.contains("--schedule replays the file's own users, faults and replicas; drop --swarm, --profile and --replicas"), "\(result.error)")
    }
}
