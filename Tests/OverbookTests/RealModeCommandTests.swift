import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The real-mode commands (`real`, `serve`, `load`, `validate`, `bench-real`) run as a user runs
// them, as separate processes. Every test but `real` without URLs uses the throwaway Redis and
// PostgreSQL that `make test` / scripts/with-servers.sh start (OVERBOOK_TEST_REDIS_URL,
// OVERBOOK_TEST_POSTGRES_URL); a missing variable fails the test instead of skipping it, as in
// Tests/BackendsTests/TestServers.swift. Each test creates its own databases and drops them,
// and uses a Redis database number of its own, so none disturbs another.

/// The test servers, from the environment.
enum RealModeServers {
    struct Missing: Error, CustomStringConvertible {
        let variable: String
        var description: String {
            "\(variable) is not set. Run `make test` or `scripts/with-servers.sh swift test`, which start throwaway Redis and PostgreSQL servers and set it."
        }
    }

    static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    /// The test Redis, logical database `database` (so `real`'s reset of lock:* keys stays there).
    static func redisURL(database: Int) throws -> String {
        var url = try variable("OVERBOOK_TEST_REDIS_URL")
        while url.hasSuffix("/") { url.removeLast() }
        return "\(url)/\(database)"
    }

    /// The superuser URL of the test PostgreSQL (database `postgres`).
    static func postgresURL() throws -> String { try variable("OVERBOOK_TEST_POSTGRES_URL") }

    /// The same server, another database.
    static func databaseURL(_ name: String) throws -> String {
        let url = try postgresURL()
        guard let slash = url.lastIndex(of: "/") else { return url }
        return String(url[...slash]) + name
    }

    /// Runs one SQL command with psql and returns its unaligned, tuples-only output.
    @discardableResult
    static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try OverbookBinary.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                                            executable: URL(fileURLWithPath: "/usr/bin/env"))
        guard result.status == 0 else { throw ToolFailure(description: "psql -c \"\(sql)\" exited \(result.status): \(result.error)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `count` fresh databases on the test PostgreSQL for `body` (their URLs), dropped afterwards.
    static func withDatabases<T>(_ count: Int, _ body: ([String]) async throws -> T) async throws -> T {
        let admin = try postgresURL()
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let names = (1...count).map { "overbook_clitest_\(token)_\($0)" }
        defer { for name in names { _ = try? psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }
        for name in names { try psql(admin, "CREATE DATABASE \(name)") }
        return try await body(try names.map(databaseURL))
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
}

/// A directory of the test's own under the temporary directory; `remove()` it in a `defer`.
struct Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-clitest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// A small last-room scenario: `users` users confirm room 1 (capacity 1) for one night at
    /// once. Generous SLOs, so only the booking outcome decides (no timing in the verdict).
    func lastRoomScenario(users: Int) throws -> String {
        let path = file("clitest-last-room.yaml").path
        try """
            name: clitest-last-room
            description: \(users) users confirm the last room for one night at once
            seed: 1
            variant: seed
            rooms:
              - {id: 1, name: Standard Single, capacity: 1}
            inventory:
              from: 2026-03-01
              nights: 30
            users:
              - {count: \(users), room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: 0ms}
            booking_replicas: 2
            client_timeout: 30s
            faults: []
            slo: {p95: 120s, mean: 120s}
            expect: {successes: 1}

            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// A child process whose output goes to files of a scratch directory.
class LoggedProcess: @unchecked Sendable {
    let process = Process()
    let output: URL
    let errors: URL

    init(executable: URL, arguments: [String], environment: [String: String], directory: URL, logs: URL, name: String) throws {
        output = logs.appendingPathComponent("\(name).out")
        errors = logs.appendingPathComponent("\(name).err")
        let handles = try [output, errors].map { file in
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            return try FileHandle(forWritingTo: file)
        }
        defer { for handle in handles { try? handle.close() } }
        (process.standardOutput, process.standardError, process.standardInput) = (handles[0], handles[1], FileHandle.nullDevice)
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Waits up to `seconds` for the process to exit on its own: its status, or nil.
    func exitStatus(within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then up to 30 s to exit; its exit status, or `nil` if it had to be killed.
    func terminate() -> Int32? {
        guard process.isRunning else { return process.terminationReason == .exit ? process.terminationStatus : nil }
        kill(process.processIdentifier, SIGTERM)
        guard exitStatus(within: 30) != nil else {
            stop()
            return nil
        }
        return process.terminationReason == .exit ? process.terminationStatus : nil
    }

    /// For `defer`: whatever happened, the child is gone afterwards.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// `overbook serve ...` as a child process, its output in files of a scratch directory. It
/// also gets OVERBOOK_PARENT_PID, so it stops by itself should this test process die.
final class ServedService: LoggedProcess, @unchecked Sendable {
    init(_ arguments: [String], in scratch: Scratch, name: String) throws {
        try super.init(executable: OverbookBinary.url, arguments: ["serve"] + arguments,
                       environment: ProcessInfo.processInfo.environment.merging(
                           ["OVERBOOK_PARENT_PID": "\(getpid())", "LOG_LEVEL": "warning"]) { $1 },
                       directory: OverbookBinary.packageRoot, logs: scratch.url, name: name)
    }

    /// The API root from the `listening on http://127.0.0.1:PORT/api` line; `nil` if the
    /// service exits or prints none within a minute.
    func waitForListening() -> String? {
        for _ in 0..<1200 {
            let text = stdout
            if let found = text.range(of: "listening on http://127.0.0.1:") {
                let digits = text[found.upperBound...].prefix { $0.isNumber }
                if !digits.isEmpty, text[found.upperBound...].dropFirst(digits.count).hasPrefix("/api") {
                    return "http://127.0.0.1:\(digits)/api"
                }
            }
            guard process.isRunning else { return nil }
            usleep(50_000)
        }
        return nil
    }

    /// Waits up to `seconds` for the process to exit on its own.
    func waitForExit(seconds: Int) -> Bool {
        exitStatus(within: Double(seconds)) != nil
    }
}

/// A POST of a JSON body: the status and the body.
func httpPost(_ url: String, _ json: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = "POST"
    request.timeoutInterval = 10
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(json.utf8)
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
}

/// The HTTP status of a GET.
func httpStatus(_ url: String) async throws -> Int {
    try await httpGet(url).status
}

/// A GET: the status and the body.
func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 10
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
}

/// Processes whose environment carries a marker, and their children: every descendant of a
/// command started with it (the marker is inherited; redis-server, which overwrites its
/// environment with its process title, is found as a child), and nothing of anyone else's.
enum TaggedProcesses {
    struct Entry: Hashable {
        let pid: Int32
        let commandLine: [String]
        let workingDirectory: String?
    }

    static func list(_ tag: String) -> [Entry] {
        let marker = Array(tag.utf8)
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { $0 != getpid() }
        var parents: [Int32: Int32] = [:]
        var included: Set<Int32> = []
        for pid in pids {
            // "pid (comm) state ppid ...": the name may hold spaces and parentheses.
            if let stat = read("/proc/\(pid)/stat").map({ String(decoding: $0, as: UTF8.self) }), let close = stat.lastIndex(of: ")"),
               let parent = stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap({ Int32($0) }) {
                parents[pid] = parent
            }
            if let environment = read("/proc/\(pid)/environ"), environment.split(separator: 0).contains(where: { $0.elementsEqual(marker) }) {
                included.insert(pid)
            }
        }
        var grown = true
        while grown {
            let children = parents.filter { !included.contains($0.key) && included.contains($0.value) }.keys
            grown = !children.isEmpty
            included.formUnion(children)
        }
        return included.map { pid in
            Entry(pid: pid, commandLine: commandLine(pid),
                  workingDirectory: try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"))
        }
    }

    static func commandLine(_ pid: Int32) -> [String] {
        (read("/proc/\(pid)/cmdline") ?? Data()).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Those of `entries` still running (the same pid with the same command line).
    static func running(_ entries: Set<Entry>) -> [Entry] {
        entries.filter { !$0.commandLine.isEmpty && commandLine($0.pid) == $0.commandLine }
    }

    private static func read(_ path: String) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return try? handle.readToEnd()
    }

    /// Polls the tagged processes on a thread of its own until `stop()`, gathering every one seen.
    final class Watcher: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: Set<Entry> = []
        private var stopping = false
        private let finished = DispatchSemaphore(value: 0)

        init(tag: String) {
            Thread.detachNewThread { [self] in
                while !lock.withLock({ stopping }) {
                    let found = TaggedProcesses.list(tag)
                    lock.withLock { entries.formUnion(found) }
                    usleep(50_000)
                }
                finished.signal()
            }
        }

        /// Everything seen while it watched.
        func stop() -> Set<Entry> {
            lock.withLock { stopping = true }
            finished.wait()
            return lock.withLock { entries }
        }
    }
}

/// The `overbook-real.XXXXXX` directories in the temporary directories real mode uses.
func realModeDirectories() -> Set<String> {
    var found: Set<String> = []
    for base in Set(["/tmp", ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix("overbook-real.") { found.insert(URL(fileURLWithPath: base).appendingPathComponent(name).path) }
    }
    return found
}

/// The `.../overbook-real.XXXXXX` directory a path lies in, if any.
func realModeDirectory(in path: String) -> String? {
    guard let marker = path.range(of: "overbook-real.") else { return nil }
    let end = path.index(marker.upperBound, offsetBy: 6, limitedBy: path.endIndex) ?? path.endIndex
    return String(path[..<end])
}

/// The invariant lines of a one-run summary: every one must read `✓ ...: PASS`.
func invariantLines(_ output: String) -> [String] {
    guard let section = output.range(of: "INVARIANTS (checked during the run and at quiescence)") else { return [] }
    return output[section.upperBound...].split(separator: "\n").drop { $0.hasPrefix("=") }.prefix { !$0.hasPrefix("=") }
        .filter { $0.hasPrefix("✓") || $0.hasPrefix("✗") }.map(String.init)
}

/// ArgumentParser's status for a `ValidationError` (EX_USAGE).
let validationFailureStatus: Int32 = 64

@Suite(.serialized) struct RealModeCommandTests {
    static func expectOneRunPassed(_ result: OverbookBinary.Result) {
        #expect(result.status == 0, "\(result.output)\(result.error)")
        for section in ["CONCURRENT BOOKING TEST (real servers, run 1)", "TEST RESULTS ANALYSIS", "Status Code Distribution:",
                        "PERFORMANCE METRICS (wall-clock time)", "95th Percentile:", "VALIDATION CRITERIA",
                        "✓ Only 1 successful booking: PASS", "INVARIANTS", "OVERALL RESULT: ✓ PASS", "latency: real (wall-clock) p95 "] {
            #expect(result.output.contains(section), "missing \(section) in \(result.output)")
        }
        #expect(result.output.contains("Total Requests: 10\nSuccessful Bookings (201): 1\nFailed Bookings: 9\n"), "\(result.output)")
        #expect(result.output.contains("  201: 1 requests\n"))
        let invariants = invariantLines(result.output)
        #expect(invariants.count == 9, "\(result.output)")
        for invariant in ["bookings per room-night <= capacity", "no duplicate booking per user", "inventory = capacity - confirmed bookings",
                          "no lock left held at quiescence", "answers explained by a sequential order (linearizable)"] {
            #expect(invariants.contains("✓ \(invariant): PASS"), "\(invariants)")
        }
        #expect(invariants.allSatisfy { $0.hasPrefix("✓") && $0.hasSuffix(": PASS") }, "\(invariants)")
    }

    /// `overbook ARGUMENTS` with throwaway servers, its processes watched while it runs (by an
    /// environment marker), and what was left of them afterwards.
    struct Watched {
        var result: OverbookBinary.Result
        var seen: Set<TaggedProcesses.Entry>
        var before: Set<String>
        var after: Set<String>

        var commandLines: [String] { seen.map { $0.commandLine.joined(separator: " ") } }

        /// Nothing it started still runs, and its temporary directory is gone.
        func expectNothingLeft(tag: String) {
            let left = TaggedProcesses.list(tag) + TaggedProcesses.running(seen)
            #expect(left.isEmpty, "still running after `overbook real`: \(left.map { "\($0.pid) \($0.commandLine.joined(separator: " "))" })")
            // Its temporary directory, named in the servers' arguments and working directories, is gone.
            let used = Set(seen.flatMap { $0.commandLine + [$0.workingDirectory ?? ""] }.compactMap(realModeDirectory))
            #expect(!used.isEmpty, "no overbook-real.* directory seen in \(commandLines)")
            for directory in used { #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) left behind") }
            #expect(after.subtracting(before).intersection(used).isEmpty)
        }
    }

    static func runWatched(_ arguments: [String], tag: String) throws -> Watched {
        var environment = ProcessInfo.processInfo.environment
        environment["OVERBOOK_CLITEST_TAG"] = String(tag.dropFirst("OVERBOOK_CLITEST_TAG=".count))
        let before = realModeDirectories()
        let watcher = TaggedProcesses.Watcher(tag: tag)
        let result: OverbookBinary.Result
        do {
            result = try OverbookBinary.run(arguments, environment: environment)
        } catch {
            _ = watcher.stop()
            throw error
        }
        return Watched(result: result, seen: watcher.stop(), before: before, after: realModeDirectories())
    }

    /// Throwaway servers and child services, one run, and nothing of it left afterwards.
    @Test func realRunsASmallScenarioAndLeavesNothingBehind() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try scratch.lastRoomScenario(users: 10)
        let tag = "OVERBOOK_CLITEST_TAG=\(UUID().uuidString)"
        let watched = try Self.runWatched(["real", scenario, "--runs", "1", "--no-report"], tag: tag)
        let (result, seen) = (watched.result, watched.seen)
        Self.expectOneRunPassed(result)
        #expect(result.output.hasPrefix("overbook real: scenario=\(scenario) variant=seed users=10 booking_replicas=2 runs=1 "))
        #expect(result.output.contains("backends=throwaway"))

        // What it started, as seen while it ran: both servers and the three services.
        let commandLines = watched.commandLines
        #expect(commandLines.contains { $0.contains("redis-server 127.0.0.1:") }, "\(commandLines)")
        #expect(commandLines.contains { $0.contains("bin/postgres") }, "\(commandLines)")
        let services = { (kind: String) in Set(seen.filter { $0.commandLine.joined(separator: " ").contains(" serve \(kind) ") }.map(\.pid)).count }
        #expect(services("inventory") == 1, "\(commandLines)")
        #expect(services("booking") == 2, "\(commandLines)")
        // ... none of which is left running.
        watched.expectNothingLeft(tag: tag)
    }

    @Test func realRejectsABadVariantAndAPartialSetOfBackends() throws {
        let badVariant = try OverbookBinary.run(["real", "scenarios/last-room-one-night.yaml", "--variant", "nonsense", "--no-report"])
        #expect(badVariant.status == validationFailureStatus, "\(badVariant.output)\(badVariant.error)")
        #expect(badVariant.error.contains("--variant must be seed, lock-free, or fixes joined by '+' from: fenced, atomic, idempotent, crash-safe; got 'nonsense'"),
                "\(badVariant.error)")
        #expect(badVariant.output.isEmpty)
        let partial = try OverbookBinary.run(["real", "scenarios/last-room-one-night.yaml", "--redis-url", "redis://127.0.0.1:1", "--no-report"])
        #expect(partial.status == validationFailureStatus, "\(partial.output)\(partial.error)")
        #expect(partial.error.contains("give all three of --redis-url, --inventory-database-url and --booking-database-url, or none"), "\(partial.error)")
        #expect(partial.output.isEmpty)
    }

    @Test func realRunsAgainstGivenBackends() async throws {
        let redis = try RealModeServers.redisURL(database: 7)
        try await RealModeServers.withDatabases(2) { databases in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let scenario = try scratch.lastRoomScenario(users: 10)
            let result = try OverbookBinary.run(["real", scenario, "--runs", "1", "--no-report", "--redis-url", redis,
                                                 "--inventory-database-url", databases[0], "--booking-database-url", databases[1]])
            Self.expectOneRunPassed(result)
            #expect(result.output.contains("backends=given"))
            // The run's bookings are in the given database.
            let confirmed = try RealModeServers.psql(databases[1], "SELECT count(*) FROM bookings WHERE status = 'confirmed'")
            #expect(confirmed == "1")
            let available = try RealModeServers.psql(databases[0], "SELECT available_quantity FROM availability WHERE room_id = 1 AND date = '2026-03-15'")
            #expect(available == "0")
        }
    }

    /// Both services on port 0, healthy; a load against them; the seed's validator on the
    /// result, then on a corrupted inventory; SIGTERM ends both with status 0.
    @Test func serveLoadAndValidateTheSeedExperiment() async throws {
        let redis = try RealModeServers.redisURL(database: 8)
        try await RealModeServers.withDatabases(2) { databases in
            let (inventoryDatabase, bookingDatabase) = (databases[0], databases[1])
            let scratch = try Scratch()
            defer { scratch.remove() }
            let inventory = try ServedService(["inventory", "--port", "0", "--database-url", inventoryDatabase, "--seed-data"], in: scratch, name: "inventory")
            defer { inventory.stop() }
            let inventoryURL = try #require(inventory.waitForListening(), "no listening line: \(inventory.stdout)\(inventory.stderr)")
            #expect(inventory.stdout.contains("overbook serve inventory: listening on \(inventoryURL) (variant seed, decrement read-modify-write)"))
            #expect(try await httpStatus(inventoryURL + "/health") == 200)

            let booking = try ServedService(["booking", "--port", "0", "--database-url", bookingDatabase, "--redis-url", redis,
                                             "--inventory-url", inventoryURL], in: scratch, name: "booking")
            defer { booking.stop() }
            let bookingURL = try #require(booking.waitForListening(), "no listening line: \(booking.stdout)\(booking.stderr)")
            #expect(booking.stdout.contains("overbook serve booking: listening on \(bookingURL) (variant seed, inventory \(inventoryURL))"))
            #expect(try await httpStatus(bookingURL + "/health") == 200)

            // --p95-limit high: the verdict must not depend on how loaded the machine is.
            let results = scratch.file("results.json")
            let load = try OverbookBinary.run(["load", "--url", bookingURL, "--users", "20", "--room-id", "1", "--check-in", "2026-03-15",
                                               "--check-out", "2026-03-17", "--p95-limit", "600", "--output", results.path])
            #expect(load.status == 0, "\(load.output)\(load.error)")
            for section in ["CONCURRENT BOOKING TEST", "Concurrent Users: 20", "TEST RESULTS ANALYSIS", "Status Code Distribution:",
                            "PERFORMANCE METRICS", "VALIDATION CRITERIA", "✓ Only 1 successful booking: PASS", "OVERALL RESULT: ✓ PASS",
                            "Results written to \(results.path)"] {
                #expect(load.output.contains(section), "missing \(section) in \(load.output)")
            }
            #expect(load.output.contains("Total Requests: 20\nSuccessful Bookings (201): 1\nFailed Bookings: 19\n"), "\(load.output)")
            #expect(load.output.contains("  201: 1 requests\n"))

            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: results)) as? [String: Any])
            let config = try #require(json["config"] as? [String: Any])
            #expect(config["url"] as? String == bookingURL)
            #expect(config["users"] as? Int == 20)
            #expect(config["room_id"] as? Int == 1)
            #expect(config["check_in"] as? String == "2026-03-15" && config["check_out"] as? String == "2026-03-17")
            let requests = try #require(json["results"] as? [[String: Any]])
            #expect(requests.count == 20)
            let booked = requests.filter { $0["status_code"] as? Int == 201 }
            #expect(booked.count == 1)
            #expect(booked.first?["booking_id"] as? Int != nil)
            #expect(requests.allSatisfy { $0["user_id"] is String && $0["response_time"] is Double && $0["status_code"] is Int })
            let summary = try #require(json["summary"] as? [String: Any])
            #expect(summary["total_requests"] as? Int == 20)
            #expect(summary["successful_bookings"] as? Int == 1)
            #expect(summary["failed_bookings"] as? Int == 19)
            #expect((summary["status_distribution"] as? [String: Int])?["201"] == 1)
            #expect((summary["status_distribution"] as? [String: Int])?.values.reduce(0, +) == 20)
            #expect(summary["passed"] as? Bool == true)
            #expect((summary["criteria"] as? [[String: Any]])?.count == 3)
            let times = try #require(summary["response_times"] as? [String: Double])
            #expect(Set(times.keys) == ["min", "max", "mean", "median", "p95", "p99"])

            let validate = ["validate", "--inventory-database-url", inventoryDatabase, "--booking-database-url", bookingDatabase,
                            "--room-id", "1", "--check-in", "2026-03-15"]
            let valid = try OverbookBinary.run(validate)
            #expect(valid.status == 0, "\(valid.output)\(valid.error)")
            #expect(valid.output.contains("Confirmed bookings covering 2026-03-15: 1\n"), "\(valid.output)")
            #expect(valid.output.contains("Room 1 total_quantity: 1\nAvailable on 2026-03-15: 0\n"), "\(valid.output)")
            #expect(valid.output.contains("OVERALL RESULT: ✓ PASS"))
            #expect(!valid.output.contains("✗"))

            // A unit appears from nowhere: the inventory no longer matches the bookings.
            try RealModeServers.psql(inventoryDatabase, "UPDATE availability SET available_quantity = 1 WHERE room_id = 1 AND date = '2026-03-15'")
            let corrupted = try OverbookBinary.run(validate)
            #expect(corrupted.status == 1, "\(corrupted.output)\(corrupted.error)")
            #expect(corrupted.output.contains("Available on 2026-03-15: 1\n"), "\(corrupted.output)")
            #expect(corrupted.output.contains(": FAIL\n"))
            #expect(corrupted.output.contains("OVERALL RESULT: ✗ FAIL"))

            #expect(booking.terminate() == 0, "\(booking.stderr)")
            #expect(inventory.terminate() == 0, "\(inventory.stderr)")
        }
    }

    /// `--fault-control` crash: the inventory process ends at the armed point with `_exit`
    /// (status 137, as a SIGKILL), mid-transaction, and PostgreSQL rolls its reserve back.
    /// Off loopback the flag is refused.
    @Test func serveWithFaultControlCrashesAtTheArmedPoint() async throws {
        try await RealModeServers.withDatabases(1) { databases in
            let scratch = try Scratch()
            defer { scratch.remove() }
            let inventory = try ServedService(["inventory", "--port", "0", "--database-url", databases[0], "--seed-data", "--fault-control"],
                                              in: scratch, name: "inventory")
            defer { inventory.stop() }
            let url = try #require(inventory.waitForListening(), "no listening line: \(inventory.stdout)\(inventory.stderr)")
            #expect(inventory.stdout.contains("fault control on /_overbook/faults"))
            let root = url.replacingOccurrences(of: "/api", with: "")
            let armed = try await httpPost(root + "/_overbook/faults/arm", #"{"point": "inventory-before-commit", "action": "crash"}"#)
            #expect(armed.status == 200, "\(armed.body)")
            let reserve = try? await httpPost(url + "/rooms/1/reserve", #"{"check_in": "2026-03-15", "check_out": "2026-03-16"}"#)
            #expect(reserve == nil, "the crashed service answered \(String(describing: reserve))")
            #expect(inventory.waitForExit(seconds: 10))
            #expect(inventory.process.terminationStatus == 137)
            #expect(inventory.stderr.contains("fault control: crashing at inventory-before-commit"), "\(inventory.stderr)")
            let available = try RealModeServers.psql(databases[0], "SELECT available_quantity FROM availability WHERE room_id = 1 AND date = '2026-03-15'")
            #expect(available == "1", "the crashed reserve rolled back")

            let exposed = try ServedService(["inventory", "--host", "0.0.0.0", "--port", "0", "--database-url", databases[0], "--fault-control"],
                                            in: scratch, name: "exposed")
            defer { exposed.stop() }
            #expect(exposed.waitForExit(seconds: 30))
            #expect(exposed.process.terminationStatus == validationFailureStatus)
            #expect(exposed.stderr.contains("--fault-control lets anyone who reaches the port crash this service; it needs a loopback --host"), "\(exposed.stderr)")
        }
    }

    /// A URL libpq cannot parse is refused at once, and the message does not show its password.
    @Test func serveRefusesABadDatabaseURLWithoutShowingThePassword() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let url = "postgresql://overbook:s3cret-clitest@127.0.0.1:5432/inventory_db?no_such_option=1"
        for (name, arguments) in [("inventory", ["inventory", "--port", "0", "--database-url", url]),
                                  ("booking", ["booking", "--port", "0", "--database-url", url, "--redis-url", "redis://127.0.0.1:1"])] {
            let service = try ServedService(arguments, in: scratch, name: name)
            defer { service.stop() }
            #expect(service.waitForExit(seconds: 30), "serve \(name) kept running: \(service.stdout)")
            #expect(!service.process.isRunning && service.process.terminationStatus == 2, "\(service.stdout)\(service.stderr)")
            #expect(service.stderr.contains("invalid PostgreSQL URL"), "\(service.stderr)")
            #expect(!service.stderr.contains("s3cret-clitest") && !service.stdout.contains("s3cret-clitest"), "\(service.stderr)")
            #expect(!service.stdout.contains("listening on"))
        }
    }

    @Test func loadRejectsBadInput() throws {
        let noUsers = try OverbookBinary.run(["load", "--url", "http://127.0.0.1:1/api", "--users", "0"])
        #expect(noUsers.status == validationFailureStatus, "\(noUsers.output)\(noUsers.error)")
        #expect(noUsers.error.contains("--users must be at least 1"))
        #expect(!noUsers.output.contains("CONCURRENT BOOKING TEST"))
        let badDate = try OverbookBinary.run(["load", "--url", "http://127.0.0.1:1/api", "--check-in", "notadate"])
        #expect(badDate.status == validationFailureStatus, "\(badDate.output)\(badDate.error)")
        #expect(badDate.error.contains("--check-in must be a date YYYY-MM-DD, got 'notadate'"))
        #expect(!badDate.output.contains("CONCURRENT BOOKING TEST"))
    }

    /// One measured round (plus the warm-up) of the 50- and 200-user loads, against the test
    /// servers (the 2,000-user load and the direct-SQL limit are a benchmark's, too slow here;
    /// DirectSQLLimitTests checks the limit's writes).
    @Test func benchRealPrintsItsFigures() async throws {
        // A Redis database of its own: each round deletes every lock:* key in it, which would
        // free a lock another suite's parked request holds.
        let redis = try RealModeServers.redisURL(database: 6)
        try await RealModeServers.withDatabases(2) { databases in
            let result = try OverbookBinary.run(["bench-real", "--rounds", "1", "--no-2000", "--redis-url", redis,
                                                 "--inventory-database-url", databases[0], "--booking-database-url", databases[1]])
            #expect(result.status == 0, "\(result.output)\(result.error)")
            #expect(result.output.contains("overbook bench-real: variant=seed rounds=1 booking_replicas=2 spread=0ms "))
            #expect(result.output.contains("seed-50 (50 users confirm the last room at once, 1 rounds):"), "\(result.output)")
            #expect(result.output.contains("load-200 (200 users over 20 room-nights, 1 rounds):"), "\(result.output)")
            let lines = result.output.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("  bookings/s: ") && $0.contains("; requests/s: ") }.count == 2, "\(result.output)")
            #expect(lines.filter { $0.hasPrefix("  latency: p50 ") && $0.contains(" ms, p95 ") && $0.contains(" ms, p99 ") }.count == 2)
            #expect(lines.filter { $0 == "  invariants: held in every round" }.count == 2, "\(result.output)")
            #expect(result.output.contains("(1 bookings in "), "the seed experiment books the last room once: \(result.output)")
            #expect(result.error.contains("seed-50 round 1/1: ") && result.error.contains("load-200 round 1/1: "))
        }
    }
}
