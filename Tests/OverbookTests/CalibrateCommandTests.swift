import Foundation
import Testing

/// `overbook calibrate` on throwaway servers (it starts its own), and `serve --record-timings`.
@Suite struct CalibrateCommandTests {
    /// Every hop and both services get samples; the written file is the scenario with its
    /// latency and service times replaced (its comments and other keys as they were), and it
    /// runs in the simulator.
    @Test func calibrateMeasuresEveryHopAndWritesARunnableScenario() async throws {
        // On the shared test servers (fresh databases, Redis database 3): throwaway servers of
        // its own would start beside BackendFailureTests, whose restarts free their ports.
        let redis = try RealModeServers.redisURL(database: 3)
        try await RealModeServers.withDatabases(2) { databases in
            try Self.calibrate(backends: ["--redis-url", redis, "--inventory-database-url", databases[0], "--booking-database-url", databases[1]])
        }
    }

    static func calibrate(backends: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = scratch.file("workers.yaml").path
        try """
            # a comment the calibration keeps
            name: clitest-workers
            rooms:
              - {id: 1, capacity: 1}
            users:
              - {count: 12, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}
            latency:
              client-booking: 2ms   # replaced
            serving:
              booking: {workers: 2}
            slo: {p95: 120s, mean: 120s}

            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let output = scratch.file("calibrated.yaml").path
        let result = try OverbookBinary.run(["calibrate", scenario, "--runs", "2", "--simulated-runs", "20", "--output", output] + backends)
        #expect(result.status == 0, "\(result.output)\(result.error)")
        for name in ["client-booking", "booking-redis", "booking-postgres", "booking-inventory", "inventory-postgres",
                     "booking service time", "inventory service time"] {
            let line = result.output.split(separator: "\n").first { $0.hasPrefix("  \(name) ") }
            #expect(line != nil && !line!.contains("no samples"), "\(name): \(result.output)")
        }
        #expect(result.output.contains("calibrated simulator vs real: 2 real runs (wall-clock), 20 simulated seeds (virtual time)"), "\(result.output)")
        #expect(result.output.contains("wrote \(output)"))

        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(written.hasPrefix("# Calibrated by `overbook calibrate \(scenario) --runs 2`"), "\(written)")
        #expect(written.contains("# a comment the calibration keeps\nname: clitest-workers"))
        #expect(!written.contains("client-booking: 2ms"), "the old latency is replaced")
        #expect(written.contains("  booking: {workers: 2, backlog: 2048, service_time: {min: "), "\(written)")
        #expect(written.contains("  inventory: {service_time: {min: "), "\(written)")
        #expect(written.contains("slo: {p95: 120s, mean: 120s}"))
        let simulated = try OverbookBinary.run(["run", output, "--runs", "5", "--no-report"])
        #expect(simulated.status == 0, "\(simulated.output)\(simulated.error)")
    }

    /// A plain service has no timings route; `--record-timings` serves them, and is refused
    /// off loopback.
    @Test func recordTimingsIsServedOnlyWhenAskedAndOnlyOnLoopback() async throws {
        try await RealModeServers.withDatabases(1) { databases in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let plain = try ServedService(["inventory", "--port", "0", "--database-url", databases[0], "--seed-data"], in: scratch, name: "plain")
            defer { plain.stop() }
            let plainURL = try #require(plain.waitForListening(), "no listening line: \(plain.stdout)\(plain.stderr)")
            #expect(try await httpStatus(plainURL.replacingOccurrences(of: "/api", with: "") + "/_overbook/timings") == 404)

            let timed = try ServedService(["inventory", "--port", "0", "--database-url", databases[0], "--record-timings"], in: scratch, name: "timed")
            defer { timed.stop() }
            let url = try #require(timed.waitForListening(), "no listening line: \(timed.stdout)\(timed.stderr)")
            #expect(timed.stdout.contains("timings on /_overbook/timings"))
            #expect(try await httpStatus(url + "/rooms/1/availability?date=2026-03-15") == 200)
            let timings = try await httpGet(url.replacingOccurrences(of: "/api", with: "") + "/_overbook/timings")
            #expect(timings.status == 200)
            #expect(timings.body.contains(#""inventory-postgres":["#) && timings.body.contains(#""handling":["#), "\(timings.body)")

            let exposed = try ServedService(["inventory", "--host", "0.0.0.0", "--port", "0", "--database-url", databases[0], "--record-timings"],
                                            in: scratch, name: "exposed")
            defer { exposed.stop() }
            #expect(exposed.waitForExit(seconds: 30))
            #expect(exposed.process.terminationStatus == validationFailureStatus)
            #expect(exposed.stderr.contains("--record-timings serves what this service measured to anyone who reaches the port; it needs a loopback --host"), "\(exposed.stderr)")
        }
    }
}
