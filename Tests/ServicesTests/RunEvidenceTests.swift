import BookingCore
import Checking
import Foundation
@testable import RealHarness
import RunObservation
import Testing

/// The evidence a real run that broke safety leaves behind names the answer and the row that
/// contradict each other, so a person can follow the request into the services' logs.
@Suite struct RunEvidenceTests {
    static let night = Night(year: 2025, month: 3, day: 1)!
    static let stay = Stay(room: RoomID(1), checkIn: night, checkOut: night.adding(days: 1))!

    @Test func aContradictedAnswerIsKeptWithItsRowAndTheLogs() throws {
        let scenario = Scenario(name: "evidence test", variant: Variant(fixes: [.crashSafe]),
                                rooms: [RoomSpec(id: RoomID(1), name: "Standard Single", capacity: 1)],
                                users: [UserGroup(count: 1, stay: Self.stay, arrival: .at(.zero))])
        let request = RequestID("run7-req-1")
        let message = "booking database: failed; the service log has the details under request id 42"
        let answer = ConfirmResult(user: UserID("user_1"), stay: Self.stay, replica: 1, sentAt: 1_000_000, completedAt: 51_000_000,
                                   status: 503, booking: nil, error: message, timedOut: false)
        let observed = ClientOutcome(user: answer.user, process: ProcessID(kind: .client, index: 1), stay: Self.stay,
                                     sentAt: answer.sentAt, completedAt: answer.completedAt, status: 503, error: message, requestID: request)
        let row = Booking(id: BookingID(2), userID: answer.user, room: RoomID(1), checkIn: Self.night, checkOut: Self.stay.checkOut,
                          status: .confirmed, requestID: request)
        let observation = RunObservation(run: 7, outcomes: [observed],
                                         quiescent: QuiescentState(time: 60_000_000, bookings: [row], availability: [(RoomNight(room: RoomID(1), night: Self.night), 0)]))
        let outcome = RealRun.Outcome(observation: observation, duringRun: [], confirms: [answer], duration: 60_000_000,
                                      faults: [FiredFault(kind: .postgresAbort, at: 20_000_000, mechanism: "postgres-abort booking-2: 1 statement(s) aborted")],
                                      scenario: scenario)
        let verdict = Verdicts.judge(scenario: scenario, observation: observation, duringRun: [])
        #expect(verdict.violations.contains { safetyInvariants.contains($0.invariant) })

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("overbook-evidence-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        let logs = root.appendingPathComponent("work/logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try "answered 503: booking database: 40001\n".write(to: logs.appendingPathComponent("booking-2.log"), atomically: true, encoding: .utf8)

        let directory = try RunEvidence.directory(scenario: scenario.name, variant: "atomic+crash-safe", run: 7, under: root.path)
        #expect(directory.lastPathComponent == "evidence-test-atomic-crash-safe-run-7")
        try RunEvidence(directory: directory).write(outcome, verdict: verdict, logs: logs)
        func read(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }
        #expect(try read("violations.txt").contains("run7-req-1 was answered 503 (nothing written)"))
        #expect(try read("violations.txt").contains("postgres-abort booking-2"))
        let answers = try read("answers.txt")
        #expect(answers.contains("run7-req-1 user_1"))
        #expect(answers.contains("booking-2 sent"))
        #expect(answers.contains("answered 503"))
        #expect(answers.contains("under request id 42"))
        #expect(try read("bookings.txt").contains("2 run7-req-1 user_1 room 1"))
        #expect(try read("logs/booking-2.log").contains("40001"))
        // A second failure of the same run number does not overwrite the first's evidence.
        #expect(try RunEvidence.directory(scenario: scenario.name, variant: "atomic+crash-safe", run: 7, under: root.path).lastPathComponent
                == "evidence-test-atomic-crash-safe-run-7.2")
    }
}
