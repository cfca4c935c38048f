import BookingCore
import Checking
import Foundation
import Reports
import RunObservation
#if canImport(Glibc)
import Glibc
#endif

/// What a real run that broke a safety invariant leaves behind for a person to read: a real
/// run cannot be replayed to the byte as a seed can, so its answers, the rows the databases
/// held afterwards, the faults that fired and the services' logs so far are kept in a
/// directory of their own instead of vanishing with the stack's work directory.
public struct RunEvidence: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The directory the evidence of run `run` of `variant` goes to, beside the real-mode
    /// reports, created empty here: a second failure of the same run (`--run N --runs K`, or
    /// another `overbook real` at the same moment) gets its own.
    public static func directory(scenario: String, variant: String, run: UInt64, under root: String) throws -> URL {
        let parent = URL(fileURLWithPath: root).appendingPathComponent("real-evidence")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let base = parent.appendingPathComponent("\(ReportPaths.slug(scenario))-\(ReportPaths.slug(variant))-run-\(run)")
        var candidate = base
        var attempt = 1
        // mkdir is the claim: it fails when the directory exists, whoever made it.
        while mkdir(candidate.path, 0o755) != 0 {
            guard errno == EEXIST, attempt < 10_000 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: candidate.path]) }
            attempt += 1
            candidate = base.appendingPathExtension("\(attempt)")
        }
        return candidate
    }

    /// Writes `violations.txt`, `answers.txt` (one line per confirm: request id, replica,
    /// timing, status and message), `bookings.txt` (every booking row at the final read), and
    /// `logs/` (a copy of the services' logs, which name each 5xx's cause under the request id
    /// quoted in its answer).
    public func write(_ outcome: RealRun.Outcome, verdict: RunVerdict, logs: URL) throws {
        let files = FileManager.default
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        try text(verdict.violations.map(\.description) + ["", "faults fired:"] + outcome.faults.map { "  \(formatSeconds($0.at)) \($0.kind.rawValue): \($0.mechanism)" })
            .write(to: directory.appendingPathComponent("violations.txt"), atomically: true, encoding: .utf8)
        let answers = zip(outcome.observation.outcomes, outcome.confirms).map { observed, confirm in
            Self.answerLine(observed, confirm)
        }
        try text(answers).write(to: directory.appendingPathComponent("answers.txt"), atomically: true, encoding: .utf8)
        let rows = outcome.observation.quiescent.bookings.sorted { $0.id < $1.id }.map(Self.rowLine)
        try text(["id request_id user stay status fencing_token"] + rows)
            .write(to: directory.appendingPathComponent("bookings.txt"), atomically: true, encoding: .utf8)
        if files.fileExists(atPath: logs.path) {
            try files.copyItem(at: logs, to: directory.appendingPathComponent("logs"))
        }
    }

    static func answerLine(_ observed: ClientOutcome, _ confirm: ConfirmResult) -> String {
        let status = confirm.status.map(String.init) ?? (confirm.timedOut ? "timeout" : "no answer")
        let unknown = confirm.outcomeUnknown ? " (outcome unknown)" : ""
        return "\(observed.requestID.map { "\($0)" } ?? "-") \(confirm.user) \(confirm.stay) booking-\(confirm.replica + 1) "
            + "sent \(formatSeconds(confirm.sentAt)) answered \(status)\(unknown) after \(formatSeconds(confirm.latency)) "
            + "attempts \(confirm.attempts)\(confirm.booking.map { " booking \($0.id)" } ?? ""): \(confirm.error ?? "-")"
    }

    static func rowLine(_ row: Booking) -> String {
        "\(row.id) \(row.requestID.map { "\($0)" } ?? "-") \(row.userID) room \(row.room) \(row.checkIn)..\(row.checkOut) "
            + "\(row.status.rawValue) \(row.fencingToken.map(String.init) ?? "-")"
    }

    private func text(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }
}
