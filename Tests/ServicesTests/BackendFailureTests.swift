import Backends
import BookingCore
import Checking
import RunObservation
import Foundation
@testable import RealHarness
import Services
import Testing

/// Issue #15's "backends failing under load": the seed's 50 users confirm the last room while
/// Redis is killed and restarted and PostgreSQL is stopped as a crash stops it (SIGQUIT) and
/// restarted, on throwaway servers of this test's own (it kills them). Nothing is lost: every
/// client gets an answer with a JSON body, the services recover without a restart, the
/// databases agree afterwards and no 201 names a booking the database does not hold.
@Suite(.serialized) struct BackendFailureTests {
    /// The built `overbook`, beside the test bundle: the services run as its children.
    static var overbookBinary: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("overbook").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("overbook").path
    }

    @Test func redisAndPostgresRestartedUnderLoadLoseNothing() async throws {
        var scenario = Scenario.seedExperiment()
        scenario.variant = Variant(fixes: [.crashSafe])
        scenario.users = scenario.users.map { group in
            var group = group
            group.arrival = .uniform(.zero, .milliseconds(1_500))
            return group
        }
        scenario.clientTimeout = .seconds(20)
        scenario.lock = LockPolicy(ttl: .seconds(2), backoff: [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
        RealStack.executableOverride.withLock { $0 = Self.overbookBinary }
        let stack = try await RealStack.start(BackendLocations(), users: scenario.userCount, progress: { _ in })
        do {
            try await stack.seed(scenario)
            try await stack.startServices(variant: scenario.variant, configuration: scenario.bookingConfiguration,
                                          replicas: scenario.bookingReplicas, progress: { _ in })
            let servers = try #require(stack.servers)
            let restarts = Task {
                try await Task.sleep(for: .milliseconds(300))
                try await servers.restartRedis(downtime: .milliseconds(200))
                try await Task.sleep(for: .milliseconds(200))
                try await servers.restartPostgres(downtime: .milliseconds(500))
            }
            let run: Result<RealRun.Outcome, any Error>
            do { run = .success(try await RealRun(stack: stack, scenario: scenario).once(run: 1)) } catch { run = .failure(error) }
            // A restart that failed is the cause of whatever the run then met: said first.
            try await restarts.value
            let outcome = try run.get()

            let statuses = Dictionary(grouping: outcome.confirms, by: { $0.status.map(String.init) ?? "none" }).mapValues(\.count)
            print("backend failures under load: answers by status \(statuses.sorted { $0.key < $1.key })")
            #expect(outcome.confirms.allSatisfy { $0.status != nil }, "every client got an answer: \(statuses)")
            // 202: the crash-safe saga's pending booking; an unknown outcome is a 503 that says so.
            #expect(outcome.confirms.allSatisfy { [201, 202, 409, 503].contains($0.status ?? 0) }, "\(statuses)")
            #expect(outcome.confirms.allSatisfy { $0.status == 201 || $0.status == 202 || $0.error != nil }, "an error answer without a JSON message")
            let unknown = outcome.confirms.filter(\.outcomeUnknown).count
            print("backend failures under load: \(unknown) of the 503s say the outcome is unknown")
            // The services came back by themselves: their pools reconnected.
            for child in stack.replicas + [stack.inventory].compactMap({ $0 }) {
                #expect(child.process.isRunning, "\(child.name) was not restarted")
            }
            let health = try HTTPRemoteService<BookingRequest>(baseURL: stack.replicas[0].baseURL, client: stack.client)
            #expect(try await health.call(.health, timeout: .seconds(10)).status == StatusCode.ok)
            let verdict = outcome.verdict(scenario)
            let safety = verdict.violations.filter { safetyInvariants.contains($0.invariant) }
            #expect(safety.isEmpty, "\(safety)")
            let booked = Set(try await PostgresBookingDatabase(pool: stack.bookingPool).allBookings().filter { $0.status == .confirmed }.map(\.id))
            let answered = outcome.confirms.filter { $0.status == StatusCode.created }.compactMap { $0.booking?.id }
            #expect(answered.allSatisfy(booked.contains), "a 201 names a booking the database does not hold")
            let validation = try await DatabaseValidation.run(inventory: PostgresInventoryDatabase(pool: stack.inventoryPool),
                                                              bookings: PostgresBookingDatabase(pool: stack.bookingPool),
                                                              room: RoomID(1), night: Night(iso: "2026-03-15")!, expectedBookings: nil)
            #expect(validation.passed, "\(validation.checks.filter { !$0.passed })")
            print("backend failures under load: \(answered.count) x 201, \(booked.count) confirmed in booking_db, validate \(validation.passed ? "PASS" : "FAIL")")
        } catch {
            await stack.shutdown()
            throw error
        }
        await stack.shutdown()
    }
}
