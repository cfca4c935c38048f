import ArgumentParser
import BookingCore
import RealHarness
import RunObservation
import Checking
import Foundation
import Services

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "The seed's concurrent booking test client, against running booking services.",
        discussion: """
        `concurrent_booking_test.py` with the same flags and printed sections: every user sends \
        POST /bookings/confirm for the same room and stay at the same moment (one connection \
        each), then the status distribution, latency statistics and the seed's PASS/FAIL \
        criteria are printed. Exits 1 when a criterion fails. --url may be repeated to spread \
        users round-robin over several replicas.

        Example:
          overbook load --url http://127.0.0.1:5002/api --users 50 --room-id 1 \\
              --check-in 2026-03-15 --check-out 2026-03-17 --output results.json
        """
    )

    @Option(help: "Booking service API root (repeat for several replicas).")
    var url: [String] = ["http://127.0.0.1:5002/api"]

    @Option(help: "Concurrent users.")
    var users = 50

    @Option(help: "Room to book.")
    var roomId = 1

    @Option(help: "Check-in date, YYYY-MM-DD.")
    var checkIn = "2026-03-15"

    @Option(help: "Check-out date, YYYY-MM-DD.")
    var checkOut = "2026-03-17"

    @Option(help: "Write every request's status and latency, and the summary, to this JSON file.")
    var output: String?

    @Option(help: "Seconds each user waits for an answer.")
    var timeout: Double = 30

    @Option(help: "Successful bookings the test expects (the seed: 1, the room's last unit).")
    var expectedSuccesses = 1

    @Option(help: "The p95 latency the user story allows, in seconds.")
    var p95Limit: Double = 1.5

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard roomId >= 1 else { throw ValidationError("--room-id must be a positive integer") }
        guard Night(iso: checkIn) != nil else { throw ValidationError("--check-in must be a date YYYY-MM-DD, got '\(checkIn)'") }
        guard Night(iso: checkOut) != nil else { throw ValidationError("--check-out must be a date YYYY-MM-DD, got '\(checkOut)'") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let urls = url
        let plan = (1...users).map { index in
            PlannedConfirm(body: ConfirmBody(userID: .numbered(index), room: RoomID(roomId), checkIn: Night(iso: checkIn)!, checkOut: Night(iso: checkOut)!))
        }
        let timeout = Duration.milliseconds(Int64(self.timeout * 1000))
        let rule = String(repeating: "=", count: 80)
        print(rule + "\nCONCURRENT BOOKING TEST\n" + rule)
        print("Room ID: \(roomId)\nCheck-in: \(checkIn)\nCheck-out: \(checkOut)\nConcurrent Users: \(users)")
        if urls.count > 1 { print("Booking services: \(urls.joined(separator: ", "))") }
        print(rule)
        let users = self.users
        let (results, duration): ([ConfirmResult], Int64)
        do {
            (results, duration) = try runBlocking {
                let client = ConfirmLoad.makeClient(users: users)
                do {
                    let targets = try urls.map { try HTTPRemoteService<BookingRequest>(baseURL: $0, client: client) }
                    let outcome = await ConfirmLoad(targets: targets, timeout: timeout).run(plan)
                    try? await client.shutdown()
                    return outcome
                } catch {
                    try? await client.shutdown()
                    throw error
                }
            }
        } catch let error as ServiceConfigurationError {
            throw ValidationError("--url: \(error)")
        }
        let report = LoadReport(results: results, duration: duration, expectedSuccesses: expectedSuccesses,
                                p95Limit: Int64(p95Limit * 1e9))
        print(report.text)
        if let output {
            let file = LoadResultsFile(url: urls.joined(separator: ","), users: users, roomID: roomId, checkIn: checkIn, checkOut: checkOut, report: report)
            do {
                try file.encoded().write(to: URL(fileURLWithPath: output))
                print("Results written to \(output)")
            } catch {
                Console.error("could not write \(output): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        if !report.passed { throw ExitCode(1) }
    }
}

/// The seed client's analysis of one load: status mix, latency, criteria.
struct LoadReport {
    let results: [ConfirmResult]
    let duration: Int64
    let latency: LatencyStatistics
    let criteria: [LoadCriterion]
    /// Status code (or `error` for no answer) → requests.
    let distribution: [(label: String, count: Int)]

    var successes: Int { results.filter { $0.status == StatusCode.created }.count }
    var passed: Bool { criteria.allSatisfy(\.passed) }

    init(results: [ConfirmResult], duration: Int64, expectedSuccesses: Int, p95Limit: Int64) {
        self.results = results
        self.duration = duration
        latency = LatencyStatistics(results.filter { $0.status != nil }.map(\.latency))
        let successes = results.filter { $0.status == StatusCode.created }.count
        let failures = results.count - successes
        criteria = [
            LoadCriterion(title: "Only \(expectedSuccesses) successful booking\(expectedSuccesses == 1 ? "" : "s")", expected: "\(expectedSuccesses)",
                      got: "\(successes)", passed: successes == expectedSuccesses),
            LoadCriterion(title: "95th percentile < \(formatSeconds(p95Limit))", expected: "< \(formatSeconds(p95Limit))",
                      got: formatSeconds(latency.p95), passed: latency.count > 0 && latency.p95 < p95Limit),
            LoadCriterion(title: "Correct number of failures", expected: "\(results.count - expectedSuccesses)", got: "\(failures)",
                      passed: failures == results.count - expectedSuccesses),
        ]
        var counts: [Int: Int] = [:]
        var errors = 0
        for result in results {
            if let status = result.status { counts[status, default: 0] += 1 } else { errors += 1 }
        }
        distribution = counts.keys.sorted().map { ("\($0)", counts[$0]!) } + (errors > 0 ? [("error (no answer)", errors)] : [])
    }

    var text: String {
        let rule = String(repeating: "=", count: 80)
        func section(_ title: String) -> String { "\n\(rule)\n\(title)\n\(rule)\n" }
        var text = section("TEST RESULTS ANALYSIS")
        text += "\nTotal Requests: \(results.count)\nSuccessful Bookings (201): \(successes)\nFailed Bookings: \(results.count - successes)\n"
        text += "\nStatus Code Distribution:\n"
        for (label, count) in distribution { text += "  \(label): \(count) requests\n" }
        let errors = Dictionary(grouping: results.filter { $0.status == nil }, by: { $0.error ?? "no answer" })
        for message in errors.keys.sorted() { text += "    \(errors[message]!.count) x \(message)\n" }
        text += section("PERFORMANCE METRICS")
        text += "\nTotal Test Duration: \(formatSeconds(duration))\n"
        text += SummaryText.latencyBlock(latency)
        text += section("VALIDATION CRITERIA")
        for criterion in criteria {
            text += "\n\(criterion.passed ? "✓" : "✗") \(criterion.title): \(criterion.passed ? "PASS" : "FAIL")\n"
            text += "  Expected: \(criterion.expected), Got: \(criterion.got)\n"
        }
        text += section("OVERALL RESULT: \(passed ? "✓ PASS" : "✗ FAIL")")
        return text
    }
}

/// One row of the seed client's "VALIDATION CRITERIA".
struct LoadCriterion {
    let title: String
    let expected: String
    let got: String
    let passed: Bool
}

/// `--output`: the test's configuration, every request, and the summary.
struct LoadResultsFile: Encodable {
    struct Config: Encodable {
        let url: String
        let users: Int
        let roomID: Int
        let checkIn: String
        let checkOut: String
        enum CodingKeys: String, CodingKey {
            case url, users
            case roomID = "room_id"
            case checkIn = "check_in"
            case checkOut = "check_out"
        }
    }

    struct Request: Encodable {
        let userID: String
        let replica: Int
        let statusCode: Int?
        let latency: Double
        let startedAt: Double
        let bookingID: Int?
        let error: String?
        enum CodingKeys: String, CodingKey {
            case replica, error
            case userID = "user_id"
            case statusCode = "status_code"
            case latency = "response_time"
            case startedAt = "started_at"
            case bookingID = "booking_id"
        }
    }

    struct Latency: Encodable {
        let min, max, mean, median, p95, p99: Double
    }

    struct CriterionRow: Encodable {
        let name, expected, got: String
        let passed: Bool
    }

    struct Summary: Encodable {
        let totalRequests: Int
        let successfulBookings: Int
        let failedBookings: Int
        let statusDistribution: [String: Int]
        let totalDuration: Double
        let responseTimes: Latency
        let criteria: [CriterionRow]
        let passed: Bool
        enum CodingKeys: String, CodingKey {
            case criteria, passed
            case totalRequests = "total_requests"
            case successfulBookings = "successful_bookings"
            case failedBookings = "failed_bookings"
            case statusDistribution = "status_distribution"
            case totalDuration = "total_duration"
            case responseTimes = "response_times"
        }
    }

    let config: Config
    let results: [Request]
    let summary: Summary

    init(url: String, users: Int, roomID: Int, checkIn: String, checkOut: String, report: LoadReport) {
        func seconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e9 }
        config = Config(url: url, users: users, roomID: roomID, checkIn: checkIn, checkOut: checkOut)
        results = report.results.map {
            Request(userID: $0.user.rawValue, replica: $0.replica, statusCode: $0.status, latency: seconds($0.latency),
                    startedAt: seconds($0.sentAt), bookingID: $0.booking?.id.rawValue, error: $0.error)
        }
        let latency = report.latency
        summary = Summary(
            totalRequests: report.results.count, successfulBookings: report.successes,
            failedBookings: report.results.count - report.successes,
            statusDistribution: Dictionary(uniqueKeysWithValues: report.distribution.map { ($0.label, $0.count) }),
            totalDuration: seconds(report.duration),
            responseTimes: Latency(min: seconds(latency.min), max: seconds(latency.max), mean: seconds(latency.mean),
                                   median: seconds(latency.median), p95: seconds(latency.p95), p99: seconds(latency.p99)),
            criteria: report.criteria.map { CriterionRow(name: $0.title, expected: $0.expected, got: $0.got, passed: $0.passed) },
            passed: report.passed)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
