import Foundation
import Testing

/// Runs the built `overbook` executable as a separate process, as a user would.
enum OverbookBinary {
    static var url: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the tests run from `<products>/OverbookPackageTests.xctest`.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("overbook").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("overbook")
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// `executable`: another program to run the same way (the real-mode tests' psql).
    static func run(_ arguments: [String], environment: [String: String]? = nil, executable: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable ?? url
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        if let environment { process.environment = environment }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self))
    }
}

extension OverbookBinary {
    /// `run`, waited for on a thread of its own: an async test must not hold one of the few
    /// cooperative threads (one per core) for the seconds a real run takes, or every other
    /// suite's async work stalls behind it.
    static func runOffThePool(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try run(arguments, environment: environment) }) }.start()
        }
    }
}

@Suite(.serialized) struct CommandLineTests {
    /// Same seed, same trace, in two separate processes: 1,000 seeds, one process with Swift's
    /// per-process random hashing seed and one with deterministic hashing, so any Set or
    /// Dictionary order that shaped a run would show as a different hash.
    @Test func traceHashesAreIdenticalAcrossProcesses() throws {
        var randomized = ProcessInfo.processInfo.environment
        randomized["SWIFT_DETERMINISTIC_HASHING"] = nil
        var deterministic = randomized
        deterministic["SWIFT_DETERMINISTIC_HASHING"] = "1"
        let arguments = ["hashes", "scenarios/seed-experiment.yaml", "--seed", "1", "--count", "1000"]
        let first = try OverbookBinary.run(arguments, environment: randomized)
        let second = try OverbookBinary.run(arguments, environment: deterministic)
        #expect(first.status == 0, "\(first.error)")
        #expect(second.status == 0, "\(second.error)")
        let lines = first.output.split(separator: "\n")
        #expect(lines.count == 1000)
        #expect(first.output == second.output)
        #expect(Set(lines.map { $0.split(separator: " ")[1] }).count == 1000, "distinct seeds should give distinct runs")
    }

    @Test func runPrintsTheSeedSummaryAndPasses() throws {
        let result = try OverbookBinary.run(["run", "scenarios/seed-experiment.yaml", "--seed", "3"])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.hasPrefix("overbook run: scenario=scenarios/seed-experiment.yaml seed=3 "))
        for section in ["TEST RESULTS ANALYSIS", "Status Code Distribution:", "95th Percentile:", "99th Percentile:",
                        "VALIDATION CRITERIA", "✓ Only 1 successful booking: PASS", "INVARIANTS", "OVERALL RESULT: ✓ PASS"] {
            #expect(result.output.contains(section), "missing \(section)")
        }
    }

    @Test func manyRunsSummarizeEverySeed() throws {
        let result = try OverbookBinary.run(["run", "scenarios/seed-experiment.yaml", "--seed", "10", "--runs", "20"])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(result.output.contains("seeds 10..29 (20 runs)"))
        #expect(result.output.contains("1 x 201: 20 runs"))
        #expect(result.output.contains("✓ no lock left held at quiescence: 20/20 runs"))
    }

    @Test func aBadScenarioNamesFileAndLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-bad-\(getpid()).yaml")
        try "name: bad\nrooms:\n  - {id: 1, capacity: 1}\nusers:\n  - count: 2\n    room: 1\n    check_in: 2026-03-15\n    check_out: 2026-03-14\n"
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try OverbookBinary.run(["run", file.path])
        #expect(result.status == 2)
        #expect(result.error.contains("\(file.path):8:"), "\(result.error)")
    }

    @Test func replayWritesTheTraceAsJSONLinesAndMatchesRun() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-trace-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let replay = try OverbookBinary.run(["replay", "scenarios/seed-experiment.yaml", "--seed", "4", "--trace", file.path])
        #expect(replay.status == 0, "\(replay.error)")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 100)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["t_ns"] != nil && object?["op"] != nil && object?["summary"] != nil)
        }
        let run = try OverbookBinary.run(["run", "scenarios/seed-experiment.yaml", "--seed", "4"])
        let hashLine = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("trace hash:") } }
        #expect(hashLine(replay.output) != nil)
        #expect(hashLine(replay.output) == hashLine(run.output))
    }

    /// Same seeds, same table, whatever the number of worker threads.
    @Test func theMatrixIsReproducible() throws {
        let arguments = ["matrix", "--seeds", "8", "--profiles", "none,crashes", "--variants", "seed,atomic+idempotent+crash-safe", "--no-report"]
        let first = try OverbookBinary.run(arguments + ["--jobs", "1"])
        let second = try OverbookBinary.run(arguments + ["--jobs", "2"])
        let table = { (output: String) in output.split(separator: "\n").dropFirst().joined(separator: "\n") }
        #expect(first.output.contains("variant"))
        #expect(first.output.contains("crashes"))
        #expect(table(first.output) == table(second.output))
        #expect(!table(first.output).isEmpty)
    }

    @Test func aSweepGivesTheSameSummaryWhateverTheJobs() throws {
        let arguments = ["sweep", "scenarios/seed-experiment.yaml", "--seeds", "1..12", "--swarm", "--no-report", "--no-shrink"]
        let one = try OverbookBinary.run(arguments + ["--jobs", "1"])
        let two = try OverbookBinary.run(arguments + ["--jobs", "2"])
        let summary = { (output: String) in
            output.split(separator: "\n").filter { !$0.hasPrefix("overbook sweep:") && !$0.hasPrefix("Throughput") && !$0.contains("found after") }
        }
        #expect(summary(one.output) == summary(two.output))
        #expect(one.output.contains("COVERAGE"))
    }

    /// A schedule path printed after "replay: ... --schedule ".
    static func schedulePath(_ output: String) -> String? {
        output.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "--schedule ") else { return nil }
            return String(line[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "' "))
        }.last
    }

    @Test func checkHelpStatesPCTsGuarantee() throws {
        let help = try OverbookBinary.run(["check", "--help"])
        let words = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("1/(n * k^(d-1))"))
        #expect(help.output.contains("--strategy") && help.output.contains("--max-faults") && help.output.contains("--budget"))
    }

    @Test func aBadScheduleFileIsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-bad-schedule-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "{\"not\": \"a schedule\"}".write(toFile: path, atomically: true, encoding: .utf8)
        let replay = try OverbookBinary.run(["replay", "scenarios/seed-experiment.yaml", "--schedule", path, "--no-report"])
        #expect(replay.status == 2)
        #expect(replay.error.contains("cannot read the schedule file"), "\(replay.error)")
        let mixed = try OverbookBinary.run(["replay", "scenarios/seed-experiment.yaml", "--schedule", path, "--seed", "3", "--no-report"])
        #expect(mixed.status == 2)
        #expect(mixed.error.contains("drop --seed"))
    }

    @Test func anExhaustiveCounterexampleReplaysInANewProcess() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-check-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let check = try OverbookBinary.run(["check", "scenarios/last-room-one-night.yaml", "--strategy", "exhaustive", "--users", "2",
                                            "--max-faults", "1", "--no-shrink", "--no-report", "--schedule-dir", directory])
        #expect(check.status == 1, "a violation exits 1: \(check.output)\(check.error)")
        #expect(check.output.contains("search: COMPLETED"))
        #expect(check.output.contains("bookings-within-capacity") && check.output.contains("inventory-matches-bookings"))
        let file = directory + "/last-room-one-night-exhaustive-bookings-within-capacity.json"
        let replay = try OverbookBinary.run(["replay", "scenarios/last-room-one-night.yaml", "--schedule", file, "--no-report"])
        #expect(replay.output.contains("violates bookings-within-capacity again"), "\(replay.output)\(replay.error)")
        #expect(replay.output.contains("trace hash matches"))
        #expect(replay.error.isEmpty || !replay.error.contains("diverged"))
    }

    /// The README's check, as a user runs it: shrinking and the shrunk run's HTML report included
    /// (it crashed once building the explanation of a history where a user re-sent its confirm).
    @Test func theReadmesCheckWritesItsReport() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-check-report-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let check = try OverbookBinary.run(["check", "scenarios/last-room-one-night.yaml", "--strategy", "exhaustive", "--users", "2",
                                            "--max-faults", "1", "--schedule-dir", directory])
        #expect(check.status == 1, "a violation exits 1: \(check.output)\(check.error)")
        let line = try #require(check.output.split(separator: "\n").first { $0.hasPrefix("report: reports/") }, "\(check.output)")
        let path = String(line.dropFirst("report: ".count).prefix { $0 != " " })
        #expect(FileManager.default.fileExists(atPath: OverbookBinary.packageRoot.appendingPathComponent(path).path), "\(path)")
    }

    @Test func aShrunkSwarmSeedReplaysInANewProcess() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-shrink-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shrink = try OverbookBinary.run(["shrink", "scenarios/seed-experiment.yaml", "--swarm", "--seed", "13",
                                             "--schedule-dir", directory, "--budget", "120", "--no-report"])
        #expect(shrink.status == 0, "\(shrink.output)\(shrink.error)")
        let users = shrink.output.split(separator: "\n").first { $0.contains("users:") }.map(String.init) ?? ""
        #expect(users.hasSuffix("-> 1") || users.hasSuffix("-> 2") || users.hasSuffix("-> 3"), "\(shrink.output)")
        guard let file = Self.schedulePath(shrink.output) else {
            Issue.record("no schedule path in \(shrink.output)")
            return
        }
        let replay = try OverbookBinary.run(["replay", "scenarios/seed-experiment.yaml", "--schedule", file, "--no-report"])
        #expect(replay.output.contains("again, as recorded"), "\(replay.output)\(replay.error)")
        #expect(replay.output.contains("trace hash matches"))
    }

    @Test func replayPrintsATimeline() throws {
        let result = try OverbookBinary.run(["replay", "scenarios/seed-experiment.yaml", "--seed", "2"])
        #expect(result.status == 0)
        #expect(result.output.contains("TIMELINE"))
        #expect(result.output.contains("SET lock:room:1:2026-03-15"))
        #expect(result.output.contains("-> OK (lock acquired)"))
        #expect(result.output.contains("COMMIT tx"))
    }
}
