import Backends
import BookingCore
import Foundation
import Services
import Testing

/// `/_overbook/faults` on the real services (`overbook serve --fault-control`), against real
/// PostgreSQL and Redis: a parked point is a barrier the driver orders steps with, a hold
/// delays, and a service without the flag has none of it.
@Suite(.serialized) struct FaultControlTests {
    /// Fault control on, and a Redis database of this suite's own: another suite's fixture
    /// deletes the lock keys of database 9 as it starts, which would free a parked holder's lock.
    static var armed: ServiceFixture.Overrides {
        get throws {
            var overrides = ServiceFixture.Overrides()
            overrides.faultControl = true
            // Database 5: no other suite uses it (the real-mode command tests take 7, 8, 10 to 14 and 6).
            overrides.redisURL = try TestServers.redisURL().replacingOccurrences(of: "/9", with: "/5")
            return overrides
        }
    }

    static func confirm(user: Int) -> String {
        #"{"user_id": "user_\#(user)", "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-16"}"#
    }

    static let reserveBody = #"{"check_in": "2026-03-15", "check_out": "2026-03-16"}"#

    /// A point armed for one origin parks only that origin's requests; a release naming another
    /// origin frees none of them; the origin's own release does, and the snapshot says who
    /// waited where.
    @Test func aPointArmedForOneOriginParksOnlyThatOriginsRequest() async throws {
        let points = ControlledFaultPoints.booking()
        try points.arm(.beforeInsert, .park, origin: "u1a1")
        await FaultOrigin.$label.withValue("u2a1") { await points.reached(.beforeInsert) }
        let parked = Task { await FaultOrigin.$label.withValue("u1a1") { await points.reached(.beforeInsert) } }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while !points.snapshot().isParked("u1a1", at: .beforeInsert), clock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(points.snapshot().parkingPoint(of: "u1a1") == AlgorithmPoint.beforeInsert.rawValue)
        #expect(points.snapshot().parkingPoint(of: "u2a1") == nil, "the other origin passed")
        #expect(points.release(.beforeInsert, origin: "u2a1") == 0)
        #expect(points.release(.beforeInsert, origin: "u1a1", then: .hold(.milliseconds(1))) == 1)
        await parked.value
        #expect(points.snapshot().reached(.beforeInsert) == 2)
    }

    /// The booking service passes the driver's origin on to the inventory: a point of the
    /// inventory armed for an origin parks the reserve that a confirm of that origin causes.
    @Test func theOriginTravelsFromTheConfirmToTheInventory() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let inventory = FaultControlClient(serviceURL: fixture.inventoryURL, client: fixture.client)
            _ = try await inventory.arm(.inventoryBeforeCommit, .park, origin: "u7a1")
            async let confirm = FaultOrigin.$label.withValue("u7a1") { try await fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 7)) }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(20))
            while try await !inventory.snapshot().isParked("u7a1", at: .inventoryBeforeCommit), clock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(try await inventory.snapshot().isParked("u7a1", at: .inventoryBeforeCommit))
            #expect(try await inventory.release(.inventoryBeforeCommit, origin: "u7a1") == 1)
            #expect(try await confirm.status == 201)
        }
    }

    /// A reserve parked before its COMMIT has written its UPDATE but not committed it: another
    /// reader sees the room free until the driver releases the point.
    @Test func aReserveParkedBeforeItsCommitIsInvisibleUntilReleased() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let control = FaultControlClient(serviceURL: fixture.inventoryURL, client: fixture.client)
            _ = try await control.arm(.inventoryBeforeCommit, .park)
            async let reserve = fixture.inventory(.POST, "/rooms/1/reserve", body: Self.reserveBody)
            #expect(try await control.waitUntilParked(at: .inventoryBeforeCommit, timeout: .seconds(20)))
            #expect(try await fixture.available() == 1, "the parked reserve has not committed")
            #expect(try await control.snapshot().inFlight == 1, "the parked reserve is being served; the control calls are not counted")
            #expect(try await control.release(.inventoryBeforeCommit) == 1)
            #expect(try await reserve.status == 200)
            #expect(try await fixture.available() == 0)
            let snapshot = try await control.snapshot()
            #expect(snapshot.inFlight == 0)
            #expect(snapshot.reached(.inventoryBeforeCommit) == 1)
            #expect(snapshot.reached(.inventoryBeforeWrite) == 1)
            #expect(snapshot.armed.isEmpty, "armed for one request only")
        }
    }

    /// A confirm parked with the lock held orders a second confirm behind it, as a simulated
    /// schedule would: the second finds the lock taken and answers 503; released, the first books.
    @Test func aConfirmParkedHoldingTheLockMakesTheNextOneWait() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let control = FaultControlClient(serviceURL: fixture.bookingURL, client: fixture.client)
            _ = try await control.arm(.lockAcquired, .park)
            async let first = fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 1))
            #expect(try await control.waitUntilParked(at: .lockAcquired, timeout: .seconds(20)))
            let second = try await fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 2))
            #expect(second.status == 503, "\(second.raw)")
            try await control.release()
            #expect(try await first.status == 201)
            #expect(try await fixture.bookingCount() == 1)
            #expect(try await control.snapshot().reached(.lockAcquired) == 1, "the second never got the lock")
        }
    }

    @Test func aHeldPointDelaysTheAnswer() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let control = FaultControlClient(serviceURL: fixture.inventoryURL, client: fixture.client)
            // skip 1: the first request passes, the second is held.
            _ = try await control.arm(.inventoryAfterRead, .hold(.milliseconds(400)), skip: 1)
            #expect(try await fixture.inventory(.GET, "/rooms/1/availability?date=2026-03-15").status == 200)
            #expect(try await control.snapshot().armed.count == 1, "still armed after the skipped request")
            let clock = ContinuousClock()
            let started = clock.now
            let answer = try await fixture.inventory(.GET, "/rooms/1/availability?date=2026-03-15")
            #expect(answer.status == 200)
            #expect(clock.now - started >= .milliseconds(400))
            #expect(try await control.snapshot().armed.isEmpty)
        }
    }

    /// Armings of one group act once between them: the first point a request reaches acts,
    /// and the group's other points are disarmed in the same step (over HTTP, as the driver
    /// arms a fault drawn at every point).
    @Test func armingsOfOneGroupActOnceBetweenThem() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let control = FaultControlClient(serviceURL: fixture.bookingURL, client: fixture.client)
            _ = try await control.arm(.lockAcquired, .hold(.milliseconds(200)), group: "fault-1")
            _ = try await control.arm(.beforeCommit, .hold(.seconds(30)), group: "fault-1")
            _ = try await control.arm(.beforeRelease, .hold(.milliseconds(1)))
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 1)).status == 201)
            #expect(clock.now - started < .seconds(20), "before-commit was disarmed when after-lock-acquired acted")
            let snapshot = try await control.snapshot()
            #expect(snapshot.groupActedAt == ["fault-1": AlgorithmPoint.lockAcquired.rawValue])
            #expect(snapshot.armed.isEmpty, "the ungrouped arming acted on its own: \(snapshot.armed)")
        }
    }

    @Test func badArmingIsRefusedWithWhatToDo() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let wrongService = try await fixture.request(.POST, fixture.inventoryURL.replacingOccurrences(of: "/api", with: "") + "/_overbook/faults/arm",
                                                         body: #"{"point": "before-commit", "action": "park"}"#)
            #expect(wrongService.status == 400)
            #expect(wrongService.error?.contains("this service does not reach before-commit; its points are inventory-after-read") == true, "\(wrongService.raw)")
            let noDuration = try await fixture.request(.POST, fixture.bookingURL.replacingOccurrences(of: "/api", with: "") + "/_overbook/faults/arm",
                                                       body: #"{"point": "before-commit", "action": "hold"}"#)
            #expect(noDuration.status == 400)
            #expect(noDuration.error == "a hold needs duration_ms (0 or more)")
            let noRatio = try await fixture.request(.POST, fixture.bookingURL.replacingOccurrences(of: "/api", with: "") + "/_overbook/faults/statements",
                                                    body: #"{"seed": 1, "rules": [{"kind": "postgres-abort", "numerator": 1, "denominator": 0}]}"#)
            #expect(noRatio.status == 400)
            #expect(noRatio.error?.contains("denominator >= 1") == true, "\(noRatio.raw)")
            let noTimeout = try await fixture.request(.POST, fixture.inventoryURL.replacingOccurrences(of: "/api", with: "") + "/_overbook/faults/statements",
                                                      body: #"{"seed": 1, "rules": [{"kind": "statement-timeout", "numerator": 1, "denominator": 1}]}"#)
            #expect(noTimeout.status == 400)
            #expect(noTimeout.error == "a statement-timeout needs timeout_ms of 1 or more")
        }
    }

    /// Statement faults armed over `/_overbook/faults/statements` act on the service's own
    /// PostgreSQL statements: every inventory statement aborted, so a confirm is answered 503
    /// with nothing written; the firings are read back, and a reset disarms them.
    @Test func armedStatementFaultsActOnTheServicesStatements() async throws {
        try await ServiceFixture.with(try Self.armed) { fixture in
            let inventory = FaultControlClient(serviceURL: fixture.inventoryURL, client: fixture.client)
            try await inventory.armStatements([StatementFaultRule(kind: .postgresAbort, numerator: 1, denominator: 1)], seed: 7)
            #expect(try await fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 8)).status == 503)
            let fired = try await inventory.statements()
            #expect(fired.rules.count == 1)
            #expect(fired.firings.first?.sqlstate == "40001", "\(fired.firings)")
            try await inventory.reset()
            #expect(try await inventory.statements().rules.isEmpty)
            #expect(try await fixture.booking(.POST, "/bookings/confirm", body: Self.confirm(user: 8)).status == 201)
        }
    }

    /// Without `--fault-control` there is nothing to arm.
    @Test func aPlainServiceHasNoFaultControl() async throws {
        try await ServiceFixture.with { fixture in
            for url in [fixture.inventoryURL, fixture.bookingURL] {
                let answer = try await fixture.request(.GET, url.replacingOccurrences(of: "/api", with: "") + "/_overbook/faults")
                #expect(answer.status == 404)
            }
        }
    }
}
