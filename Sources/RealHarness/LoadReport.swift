import BookingCore
import Checking
import Foundation
import RunObservation

/// The seed client's analysis of one load: status mix, latency, criteria.
public struct LoadReport: Sendable {
    public let results: [ConfirmResult]
    public let duration: Int64
    public let latency: LatencyStatistics
    public let criteria: [Criterion]
    /// Status code (or `error` for no answer) → requests.
    public let distribution: [(label: String, count: Int)]

    public var successes: Int { results.filter { $0.status == StatusCode.created }.count }
    public var passed: Bool { criteria.allSatisfy(\.passed) }

    public init(results: [ConfirmResult], duration: Int64, expectedSuccesses: Int, p95Limit: Int64) {
        self.results = results
        self.duration = duration
        latency = LatencyStatistics(results.filter { $0.status != nil }.map(\.latency))
        let successes = results.filter { $0.status == StatusCode.created }.count
        let failures = results.count - successes
        var p95 = Criterion.p95(latency, under: p95Limit)
        // With no answer at all there is no percentile to pass.
        p95.passed = p95.passed && latency.count > 0
        criteria = [.successes(successes, expected: expectedSuccesses), p95,
                    .failures(failures, expected: results.count - expectedSuccesses)]
        var counts: [Int: Int] = [:]
        var errors = 0
        for result in results {
            if let status = result.status { counts[status, default: 0] += 1 } else { errors += 1 }
        }
        distribution = counts.keys.sorted().map { ("\($0)", counts[$0]!) } + (errors > 0 ? [("error (no answer)", errors)] : [])
    }

    public var text: String {
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

extension LoadReport {
    /// What the seed's test client prints before it sends: the stay (as given on its command
    /// line), the users and, when there are several, the booking services they are spread over.
    public static func header(room: Int, checkIn: String, checkOut: String, users: Int, urls: [String]) -> String {
        let rule = String(repeating: "=", count: 80)
        var lines = [rule, "CONCURRENT BOOKING TEST", rule, "Room ID: \(room)", "Check-in: \(checkIn)",
                     "Check-out: \(checkOut)", "Concurrent Users: \(users)"]
        if urls.count > 1 { lines.append("Booking services: \(urls.joined(separator: ", "))") }
        return (lines + [rule]).joined(separator: "\n")
    }

    /// The seed's load: users 1...`users` confirm the same stay at the same moment.
    public static func sameStayPlan(users: Int, room: RoomID, checkIn: Night, checkOut: Night) -> [PlannedConfirm] {
        (1...users).map { PlannedConfirm(body: ConfirmBody(userID: .numbered($0), room: room, checkIn: checkIn, checkOut: checkOut)) }
    }
}

/// `overbook load --output`: the test's configuration, every request, and the summary.
public struct LoadResultsFile: Encodable {
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

    public init(url: String, users: Int, roomID: Int, checkIn: String, checkOut: String, report: LoadReport) {
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

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// What is wrong with a room and night given as `--room-id` and `--check-in`, in their words.
func roomNightProblem(room: Int, checkIn: String) -> String? {
    guard room >= 1 else { return "--room-id must be a positive integer" }
    guard Night(iso: checkIn) != nil else { return "--check-in must be a date YYYY-MM-DD, got '\(checkIn)'" }
    return nil
}

extension LoadReport {
    /// What is wrong with `overbook load`'s options, in their words; `nil` if nothing.
    public static func problem(users: Int, room: Int, checkIn: String, checkOut: String, timeout: Double) -> String? {
        guard users >= 1 else { return "--users must be at least 1" }
        if let problem = roomNightProblem(room: room, checkIn: checkIn) { return problem }
        guard Night(iso: checkOut) != nil else { return "--check-out must be a date YYYY-MM-DD, got '\(checkOut)'" }
        guard timeout > 0 else { return "--timeout must be positive" }
        return nil
    }

    /// `overbook load`: `users` users confirm room `room` for `checkIn`..`checkOut` at once,
    /// round-robin over `urls`; prints the header and the report, writes the results to
    /// `outputPath` if given (an `OutputFileError` when it cannot). Returns whether every
    /// criterion passed.
    public static func run(urls: [String], users: Int, room: Int, checkIn: String, checkOut: String, timeout: Duration,
                           expectedSuccesses: Int, p95Limit: Int64, outputPath: String?, output: CommandOutput) throws -> Bool {
        let plan = sameStayPlan(users: users, room: RoomID(room), checkIn: Night(iso: checkIn)!, checkOut: Night(iso: checkOut)!)
        output.line(header(room: room, checkIn: checkIn, checkOut: checkOut, users: users, urls: urls))
        let (results, duration) = try runBlocking { try await ConfirmLoad.run(plan, against: urls, timeout: timeout) }
        let report = LoadReport(results: results, duration: duration, expectedSuccesses: expectedSuccesses, p95Limit: p95Limit)
        output.line(report.text)
        if let outputPath {
            let file = LoadResultsFile(url: urls.joined(separator: ","), users: users, roomID: room, checkIn: checkIn, checkOut: checkOut, report: report)
            do {
                try file.encoded().write(to: URL(fileURLWithPath: outputPath))
            } catch {
                throw OutputFileError(description: "could not write \(outputPath): \(error.localizedDescription)")
            }
            output.line("Results written to \(outputPath)")
        }
        return report.passed
    }
}
