import BookingCore
import RunObservation
import Checking
import Foundation
import Scenarios
import Simulation
import Testing

/// The linearizability checker on hand-built histories (each a small story with a known answer)
/// and on histories the simulator records.
@Suite struct HistoryTests {
    static let firstNight = Night(iso: "2026-03-15")!

    /// Room `room`, from `firstNight + from` to `firstNight + to` (check-out).
    static func stay(_ from: Int = 0, _ to: Int = 1, room: Int = 1) -> Stay {
        Stay(room: RoomID(room), checkIn: firstNight.adding(days: from), checkOut: firstNight.adding(days: to))!
    }

    /// Operation `n` (user `n`, request `req-n` unless given), times in milliseconds.
    static func op(_ n: Int, _ outcome: ConfirmOutcome, _ from: Int64, _ to: Int64?, stay: Stay = stay(),
                   request: String? = nil) -> HistoryOperation {
        HistoryOperation(user: UserID.numbered(n), request: RequestID(request ?? "req-\(n)"), stay: stay,
                         invokedAt: from * 1_000_000, completedAt: to.map { $0 * 1_000_000 }, outcome: outcome)
    }

    /// Rooms 1 and 2, nights 2026-03-15 to 2026-03-24, at `capacity` unless overridden.
    static func capacities(_ capacity: Int = 1, overrides: [Int: Int] = [:]) -> [RoomNight: Int] {
        var capacities: [RoomNight: Int] = [:]
        for room in [1, 2] {
            for day in 0..<10 {
                capacities[RoomNight(room: RoomID(room), night: firstNight.adding(days: day))] = room == 1 ? overrides[day] ?? capacity : capacity
            }
        }
        return capacities
    }

    static func check(_ operations: [HistoryOperation], _ capacities: [RoomNight: Int] = capacities(),
                      maxStates: Int = 100_000) -> LinearizabilityReport {
        LinearizabilityChecker(maxStates: maxStates).check(BookingHistory(operations: operations, capacities: capacities))
    }

    static let scenariosDirectory: String = {
        // Tests/CheckingTests/ThisFile.swift -> package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scenarios").path
    }()

    static func scenario(_ name: String) throws -> Scenario {
        try ScenarioLoader.load(path: "\(scenariosDirectory)/\(name)")
    }

    // MARK: Double bookings

    @Test func overlappingDoubleBookingIsRejected() throws {
        let report = Self.check([Self.op(1, .booked(nil), 0, 10), Self.op(2, .booked(nil), 5, 15), Self.op(3, .refused, 5, 20)])
        let counterexample = try #require(report.counterexample)
        #expect(counterexample.conflict.map(\.request.rawValue) == ["req-1", "req-2"])
        #expect(counterexample.conflictIndices == [0, 1])
        #expect(counterexample.explanation
            == "req-1 and req-2 were both answered 201 for room 1 night 2026-03-15, which has capacity 1: no order of the 3 confirms explains both.")
        #expect(counterexample.partition.roomNights == [RoomNight(room: RoomID(1), night: Self.firstNight)])
        #expect(counterexample.partition.operationIndices == [0, 1, 2])
    }

    @Test func sequentialDoubleBookingIsRejected() throws {
        let report = Self.check([Self.op(1, .booked(BookingID(1)), 0, 10), Self.op(2, .booked(BookingID(2)), 20, 30)])
        let counterexample = try #require(report.counterexample)
        #expect(counterexample.conflict.count == 2)
        #expect(counterexample.explanation.contains("capacity 1"))
        // Capacity 2 holds both.
        #expect(Self.check([Self.op(1, .booked(nil), 0, 10), Self.op(2, .booked(nil), 20, 30)], Self.capacities(2)).isLinearizable)
    }

    @Test func threeBookingsOfACapacityTwoNightNameAllThree() throws {
        let operations = (1...4).map { Self.op($0, .booked(nil), Int64($0), 50) }
        let counterexample = try #require(Self.check(operations, Self.capacities(2)).counterexample)
        #expect(counterexample.conflict.map(\.request.rawValue) == ["req-1", "req-2", "req-3"])
        #expect(counterexample.explanation.hasPrefix("req-1, req-2 and req-3 were all answered 201 for room 1 night 2026-03-15, which has capacity 2"))
    }

    // MARK: The seed experiment's shape

    /// 50 concurrent confirms: user 37 books, the rest are refused (some before user 37's answer
    /// arrives) or get a 503.
    static func seedShapedHistory(users: Int = 50, unknownEvery: Int = 3) -> [HistoryOperation] {
        (1...users).map { n in
            if n == 37 { return op(n, .booked(BookingID(1)), 0, 20, stay: stay(0, 2)) }
            if n % unknownEvery == 0 { return op(n, .unknown, 0, 700, stay: stay(0, 2)) }
            return op(n, .refused, 0, 15 + Int64(n), stay: stay(0, 2))
        }
    }

    @Test func oneBookingAndTheRestRefusedIsAccepted() {
        let refusedOnly = Self.check(Self.seedShapedHistory(unknownEvery: 1_000))
        #expect(refusedOnly.isLinearizable, "\(refusedOnly)")
        let with503s = Self.check(Self.seedShapedHistory())
        #expect(with503s.isLinearizable, "\(with503s)")
        #expect(with503s.operations == 50 && with503s.partitions == 1 && with503s.largestPartition == 50)
        #expect(with503s.statesExplored < 10, "\(with503s)")
    }

    @Test func aRefusalAnsweredBeforeAnyBookingWasSentIsRejected() throws {
        let early = [Self.op(1, .refused, 0, 10), Self.op(2, .booked(nil), 20, 30)]
        let counterexample = try #require(Self.check(early).counterexample)
        #expect(counterexample.conflict.map(\.request.rawValue) == ["req-1"])
        #expect(counterexample.explanation.hasPrefix("req-1 was answered 409 (no room) for room 1 2026-03-15..2026-03-16"))
        // A request of unknown outcome sent in time could have taken the room, but then the later
        // booking could not: the refusal and the booking together are the conflict.
        let withUnknown = try #require(Self.check(early + [Self.op(3, .unknown, 0, nil)]).counterexample)
        #expect(withUnknown.conflict.map(\.request.rawValue) == ["req-1", "req-2"])
        // With the booking sent while the refusal was in flight, the booking can come first.
        #expect(Self.check([Self.op(1, .refused, 0, 10), Self.op(2, .booked(nil), 5, 30)]).isLinearizable)
        // A refusal with no confirm at all.
        #expect(!Self.check([Self.op(1, .refused, 0, 10)]).isLinearizable)
    }

    // MARK: Unknown outcomes

    @Test func unknownOutcomesAreAcceptedEitherWay() {
        // It had no effect: the room was still there for user 2.
        #expect(Self.check([Self.op(1, .unknown, 0, 10), Self.op(2, .booked(nil), 20, 30)]).isLinearizable)
        // It took effect: that is why user 2 was refused.
        #expect(Self.check([Self.op(1, .unknown, 0, 10), Self.op(2, .refused, 20, 30)]).isLinearizable)
        // It never completed (the client crashed): same.
        #expect(Self.check([Self.op(1, .unknown, 0, nil), Self.op(2, .refused, 20, 30)]).isLinearizable)
        // But not before it was sent.
        #expect(!Self.check([Self.op(1, .unknown, 40, 50), Self.op(2, .refused, 20, 30)]).isLinearizable)
        // Two unknowns and two refusals of a capacity-2 night: both unknowns took effect.
        #expect(Self.check([Self.op(1, .unknown, 0, 5), Self.op(2, .unknown, 0, 5), Self.op(3, .refused, 10, 20),
                            Self.op(4, .refused, 10, 20)], Self.capacities(2)).isLinearizable)
        #expect(!Self.check([Self.op(1, .unknown, 0, 5), Self.op(2, .refused, 10, 20)], Self.capacities(2)).isLinearizable)
    }

    // MARK: Idempotency

    @Test func anIdempotentRetryIsAccepted() {
        // The same request answered 201 twice books once.
        #expect(Self.check([Self.op(1, .booked(BookingID(1)), 0, 10), Self.op(2, .booked(BookingID(1)), 20, 30, request: "req-1")]).isLinearizable)
        // Two requests answered 201 book twice.
        #expect(!Self.check([Self.op(1, .booked(BookingID(1)), 0, 10), Self.op(2, .booked(BookingID(2)), 20, 30)]).isLinearizable)
        // A timeout, then the client's retry of the same request is answered 201; another user
        // is refused afterwards.
        let retried = [Self.op(1, .unknown, 0, 30_000), Self.op(1, .booked(nil), 30_000, 30_010, request: "req-1"),
                       Self.op(2, .refused, 30_020, 30_030)]
        #expect(Self.check(retried).isLinearizable)
        // The retry of a request whose first attempt booked is answered 201 even when another
        // user's request was refused in between.
        #expect(Self.check([Self.op(1, .booked(nil), 0, 10), Self.op(2, .refused, 20, 30),
                            Self.op(1, .booked(nil), 40, 50, request: "req-1")]).isLinearizable)
        // But a refusal of a request already booked is not what the service promises.
        #expect(!Self.check([Self.op(1, .booked(nil), 0, 10), Self.op(1, .refused, 20, 30, request: "req-1")],
                            Self.capacities(5)).isLinearizable)
    }

    @Test func aSharedRequestIdJoinsPartitions() {
        let history = BookingHistory(operations: [Self.op(1, .booked(nil), 0, 10, stay: Self.stay(room: 1)),
                                                  Self.op(2, .booked(nil), 0, 10, stay: Self.stay(room: 2)),
                                                  Self.op(3, .booked(nil), 0, 10, stay: Self.stay(3, 4, room: 1), request: "req-2")],
                                     capacities: Self.capacities())
        #expect(history.partitions().map(\.operationIndices) == [[0], [1, 2]])
    }

    // MARK: Multi-night stays

    @Test func multiNightStaysInteract() throws {
        // 15..17 and 16..18 share the night of the 16th.
        let shared = try #require(Self.check([Self.op(1, .booked(nil), 0, 10, stay: Self.stay(0, 2)),
                                              Self.op(2, .booked(nil), 0, 10, stay: Self.stay(1, 3))]).counterexample)
        #expect(shared.explanation.contains("room 1 night 2026-03-16, which has capacity 1"))
        #expect(shared.partition.description == "room 1 nights 2026-03-15..2026-03-17 (2 confirms)")
        // 15..17 and 17..19 share none: two partitions.
        let apart = Self.check([Self.op(1, .booked(nil), 0, 10, stay: Self.stay(0, 2)), Self.op(2, .booked(nil), 0, 10, stay: Self.stay(2, 4))])
        #expect(apart.isLinearizable && apart.partitions == 2)
        // A refusal of 16..17 after 15..17 was booked is explained; of 17..18 it is not.
        #expect(Self.check([Self.op(1, .booked(nil), 0, 10, stay: Self.stay(0, 2)), Self.op(2, .refused, 20, 30, stay: Self.stay(1, 2))]).isLinearizable)
        #expect(!Self.check([Self.op(1, .booked(nil), 0, 10, stay: Self.stay(0, 2)), Self.op(2, .refused, 20, 30, stay: Self.stay(2, 3))]).isLinearizable)
        // A chain: 15..17 booked, 16..18 unknown, then 17..18 refused. The unknown one could only
        // have filled the 17th by taking the 16th too, which the booking needed: rejected, unless
        // the 16th has room for both.
        let chain = [Self.op(1, .booked(nil), 0, 10, stay: Self.stay(0, 2)), Self.op(2, .unknown, 0, 10, stay: Self.stay(1, 3)),
                     Self.op(3, .refused, 20, 30, stay: Self.stay(2, 3))]
        let rejected = try #require(Self.check(chain).counterexample)
        #expect(rejected.conflict.map(\.request.rawValue) == ["req-1", "req-3"])
        #expect(Self.check(chain, Self.capacities(1, overrides: [1: 2])).isLinearizable)
    }

    // MARK: From simulated clients

    @Test func clientOutcomesMapOntoTheSpecification() {
        let stay = Self.stay()
        func outcome(_ n: Int, status: Int?, sentAt: Int64? = 0, completedAt: Int64? = 10, error: String? = nil) -> ClientOutcome {
            ClientOutcome(user: UserID.numbered(n), process: ProcessID(kind: .client, index: n), stay: stay, sentAt: sentAt,
                      completedAt: completedAt, status: status,
                      booking: status == 201 ? Booking(id: BookingID(7), userID: UserID.numbered(n), room: stay.room,
                                                       checkIn: stay.checkIn, checkOut: stay.checkOut) : nil,
                      error: error)
        }
        let history = BookingHistory(outcomes: [
            outcome(1, status: 201), outcome(2, status: 409), outcome(3, status: 503, error: "Could not acquire lock, please retry"),
            outcome(4, status: nil), outcome(5, status: nil, sentAt: nil, completedAt: nil), outcome(6, status: 409, error: "stale lock: a newer holder"),
            outcome(7, status: 500), outcome(8, status: nil, completedAt: nil),
        ], capacities: Self.capacities())
        #expect(history.operations.map(\.request.rawValue) == ["req-1", "req-2", "req-3", "req-4", "req-6", "req-7", "req-8"])
        #expect(history.operations.map(\.outcome) == [.booked(BookingID(7)), .refused, .unknown, .unknown, .unknown, .unknown, .unknown])
        #expect(history.operations.map(\.status) == [201, 409, 503, nil, 409, 500, nil])
        #expect(history.operations[6].completedAt == nil)
        #expect(LinearizabilityChecker().check(history).isLinearizable)
    }

    @Test func capacitiesComeFromTheScenariosInventory() {
        let capacities = BookingHistory.capacities(for: .seedExperiment())
        #expect(capacities.count == 4 * 30)
        #expect(capacities[RoomNight(room: RoomID(1), night: Self.firstNight)] == 1)
        #expect(capacities[RoomNight(room: RoomID(2), night: Self.firstNight)] == 5)
    }

    @Test func simulatedSeedExperimentHistoriesAreLinearizable() throws {
        let scenario = try Self.scenario("seed-experiment.yaml")
        for seed: UInt64 in 1...20 {
            let output = ScenarioSimulation.run(scenario, seed: seed)
            let report = LinearizabilityChecker().check(BookingHistory(observation: output.observation, scenario: scenario))
            #expect(report.isLinearizable, "seed \(seed): \(report)")
            #expect(report.operations == 50)
        }
    }

    /// A replica paused past the lock's TTL: two holders both book the last room. Both clients
    /// time out (the pause outlasts nothing of theirs but their patience), so the answers alone
    /// are explainable; the final read of the booking database is what rejects it.
    @Test func thePausePastTheTTLDoubleBookingIsRejected() throws {
        let profile = try #require(FaultProfile.named("pause-past-ttl"))
        let scenario = profile.apply(to: try Self.scenario("last-room-one-night.yaml"), seed: 64)
        let output = ScenarioSimulation.run(scenario, seed: 64)
        #expect(output.quiescent.bookings.count == 2)
        let report = LinearizabilityChecker().check(BookingHistory(observation: output.observation, scenario: scenario))
        let counterexample = try #require(report.counterexample, "\(report)")
        #expect(report.operations == 50)
        #expect(report.partitions == 1)
        #expect(report.statesExplored == 0, "the final read rejects it before any search")
        #expect(counterexample.conflict.count == 2)
        #expect(Set(counterexample.conflict.map(\.user)) == Set(output.quiescent.bookings.map(\.userID)))
        #expect(counterexample.explanation.contains("both booked room 1 night 2026-03-15, which has capacity 1: no order of the 50 confirms explains both"))
        #expect(counterexample.details.allSatisfy { $0.contains("holds it at") })
        let answersOnly = LinearizabilityChecker().check(BookingHistory(observation: output.observation, scenario: scenario, finalRead: false))
        #expect(answersOnly.isLinearizable)
    }

    // MARK: The final read

    static func row(_ id: Int, user: Int, stay: Stay = stay(), request: String? = nil, status: BookingStatus = .confirmed) -> Booking {
        Booking(id: BookingID(id), userID: UserID.numbered(user), room: stay.room, checkIn: stay.checkIn, checkOut: stay.checkOut,
                status: status, requestID: request.map(RequestID.init))
    }

    static func checkWithFinalRead(_ operations: [HistoryOperation], _ rows: [Booking], capacity: Int = 1) -> LinearizabilityReport {
        LinearizabilityChecker().check(BookingHistory(operations: operations, capacities: capacities(capacity),
                                                      finalBookings: FinalBookings(time: 60_000_000_000, bookings: rows)))
    }

    @Test func theFinalReadResolvesUnknownsAndCatchesContradictions() throws {
        // An unknown request that holds the booking explains the others' refusals.
        #expect(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .refused, 20, 30)], [Self.row(1, user: 1)]).isLinearizable)
        // Two unknown requests that both hold one: a double booking.
        let doubled = try #require(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .unknown, 0, 10)],
                                                           [Self.row(1, user: 1), Self.row(2, user: 2)]).counterexample)
        #expect(doubled.explanation.hasPrefix("req-1 and req-2 both booked room 1 night 2026-03-15, which has capacity 1"))
        // A pending saga leaves its request open; a cancelled one is no booking.
        #expect(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .booked(nil), 0, 10)],
                                        [Self.row(1, user: 1, status: .pending), Self.row(2, user: 2),
                                         Self.row(3, user: 1, status: .cancelled)]).isLinearizable)
        // Matched by request id before user and stay.
        #expect(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .refused, 20, 30)],
                                        [Self.row(1, user: 9, request: "req-1")]).isLinearizable)

        let refusedButBooked = try #require(Self.checkWithFinalRead([Self.op(1, .refused, 0, 10)], [Self.row(4, user: 1)]).counterexample)
        #expect(refusedButBooked.explanation.hasPrefix("req-1 was answered 409, yet the booking database holds booking 4 for it"))
        let bookedButGone = try #require(Self.checkWithFinalRead([Self.op(1, .booked(nil), 0, 10)], []).counterexample)
        #expect(bookedButGone.explanation.hasPrefix("req-1 was answered 201, yet the booking database holds no confirmed booking"))
        let twice = try #require(Self.checkWithFinalRead([Self.op(1, .booked(nil), 0, 10)], [Self.row(1, user: 1), Self.row(2, user: 1)],
                                                         capacity: 5).counterexample)
        #expect(twice.explanation.hasPrefix("req-1 holds 2 confirmed bookings (1 and 2)"))
        let stray = try #require(Self.checkWithFinalRead([Self.op(1, .booked(nil), 0, 10)], [Self.row(1, user: 1), Self.row(2, user: 7)],
                                                         capacity: 5).counterexample)
        #expect(stray.explanation == "booking 2 (user_7, room 1 2026-03-15..2026-03-16) answers no confirm of the history.")
        // A row whose request id is of no request here answers none, though its user and stay
        // match one (a previous real run's request that wrote after its run ended).
        let leftover = try #require(Self.checkWithFinalRead([Self.op(1, .noEffect, 0, 10)], [Self.row(1, user: 1, request: "run37-req-1")])
            .counterexample)
        #expect(leftover.explanation == "booking 1 (user_1, room 1 2026-03-15..2026-03-16) answers no confirm of the history.")
    }

    @Test func theFinalReadIsMatchedBothWays() throws {
        // An unknown request that holds no booking had no effect: it explains no refusal.
        let vanished = try #require(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .refused, 20, 30)], []).counterexample)
        #expect(vanished.conflict.map(\.request.rawValue) == ["req-1", "req-2"])
        #expect(vanished.details[0].contains("no booking holds it at"))
        #expect(vanished.explanation.hasPrefix("req-2 was answered 409 (no room) for room 1 2026-03-15..2026-03-16, but too few confirms "
            + "for those nights that took effect had been sent by 30 ms to fill them (capacity: 2026-03-15 has 1) (req-1 booked nothing"),
                "\(vanished.explanation)")
        // Unless it holds a pending row, which its saga may still confirm.
        #expect(Self.checkWithFinalRead([Self.op(1, .unknown, 0, 10), Self.op(2, .refused, 20, 30)],
                                        [Self.row(1, user: 1, status: .pending)]).isLinearizable)
        // A request retried (two operations, one request id) holding a booking is booked by one of them.
        let retried = [Self.op(1, .unknown, 0, 10), Self.op(1, .unknown, 20, 30)]
        #expect(Self.checkWithFinalRead(retried + [Self.op(2, .refused, 40, 50)], [Self.row(1, user: 1)]).isLinearizable)
        #expect(!Self.checkWithFinalRead(retried + [Self.op(2, .refused, 40, 50)], []).isLinearizable)
        #expect(!Self.checkWithFinalRead(retried + [Self.op(2, .booked(nil), 40, 50)], [Self.row(1, user: 1), Self.row(2, user: 2)]).isLinearizable)
    }

    @Test func aNoEffectAnswerHoldingABookingIsAContradiction() throws {
        let lied = try #require(Self.checkWithFinalRead([Self.op(1, .noEffect, 0, 10)], [Self.row(1, user: 1)]).counterexample)
        #expect(lied.explanation.hasPrefix("req-1 was answered 503 (nothing written), yet the booking database holds booking 1 for it"))
        let pending = try #require(Self.checkWithFinalRead([Self.op(1, .noEffect, 0, 10)], [Self.row(1, user: 1, status: .pending)]).counterexample)
        #expect(pending.explanation.contains("holds a pending booking"))
        // With no effect it explains nothing either.
        #expect(!Self.checkWithFinalRead([Self.op(1, .noEffect, 0, 10), Self.op(2, .refused, 20, 30)], []).isLinearizable)
        #expect(Self.checkWithFinalRead([Self.op(1, .noEffect, 0, 10), Self.op(2, .booked(nil), 20, 30)], [Self.row(1, user: 2)]).isLinearizable)
        // How a 503 reads depends on what the service claims.
        #expect(BookingHistory.outcome(status: 503, error: nil) == .unknown)
        #expect(BookingHistory.outcome(status: 503, error: nil, unavailable: .noEffect) == .noEffect)
        #expect(BookingHistory.outcome(status: 202, error: nil, unavailable: .noEffect) == .unknown)
        // A 503 that says its outcome is unknown is unknown, whatever a plain 503 claims.
        #expect(BookingHistory.outcome(status: 503, error: "x", outcomeUnknown: true, unavailable: .noEffect) == .unknown)
    }

    /// Swarm seed 31 of the seed experiment: 21 users are refused, nobody is booked, and the
    /// booking database ends empty. Read one way only, an unknown request that "booked" (and
    /// left no booking) explained the refusals; matched both ways it does not.
    @Test func swarmSeed31WhereABookingVanishedFailsTheHistoryCheck() throws {
        let scenario = Swarm.scenario(try Self.scenario("seed-experiment.yaml"), seed: 31)
        let output = ScenarioSimulation.run(scenario, seed: 31)
        #expect(output.observation.outcomes.filter { $0.status == 409 }.count == 21)
        #expect(output.observation.outcomes.allSatisfy { $0.status != 201 })
        #expect(output.quiescent.bookings.filter { $0.status == .confirmed }.isEmpty)
        let report = LinearizabilityChecker().check(BookingHistory(observation: output.observation, scenario: scenario))
        let counterexample = try #require(report.counterexample, "\(report)")
        #expect(counterexample.conflict.filter { $0.outcome == .refused }.count == 1, "\(counterexample)")
        #expect(counterexample.explanation.contains("booked nothing"), "\(counterexample.explanation)")
    }

    // MARK: Budget and speed

    @Test func aSearchOverItsBudgetIsUndecided() throws {
        // Night 15 (capacity 3) is filled by three of five unknown stays of different lengths
        // before a refusal, after which a booking of it is impossible: every choice of three
        // has to be tried.
        var operations = (1...5).map { Self.op($0, .unknown, 0, 5, stay: Self.stay(0, $0)) }
        operations.append(Self.op(6, .refused, 10, 20))
        operations.append(Self.op(7, .booked(nil), 30, 40))
        let small = Self.check(operations, Self.capacities(3), maxStates: 3)
        guard case .unknown(let reason) = small.verdict else {
            Issue.record("expected an undecided search, got \(small)")
            return
        }
        #expect(reason.contains("budget 3"))
        let large = try #require(Self.check(operations, Self.capacities(3)).counterexample)
        #expect(large.conflict.map(\.request.rawValue) == ["req-6", "req-7"])
    }

    /// How fast these are checked is `overbook bench`'s business (its 5,000-user row runs the
    /// checker on every run); here, what the reductions must achieve: one state per history.
    @Test func fiftyAndFiveThousandUserHistoriesAreDecidedInOneState() throws {
        let scenario = try Self.scenario("seed-experiment.yaml")
        let history = BookingHistory(observation: ScenarioSimulation.run(scenario, seed: 1).observation, scenario: scenario)
        var report: LinearizabilityReport? = LinearizabilityChecker().check(history)
        #expect(report?.isLinearizable == true)
        #expect(report?.operations == 50)
        #expect(report?.partitions == 1)
        #expect(report?.statesExplored == 1)

        let herd = try Self.scenario("thundering-herd-5000.yaml")
        let herdHistory = BookingHistory(observation: ScenarioSimulation.run(herd, seed: 1).observation, scenario: herd)
        report = LinearizabilityChecker().check(herdHistory)
        #expect(report?.isLinearizable == true)
        #expect(report?.operations == 5_000)
        #expect(report?.partitions == 1)
        #expect(report?.statesExplored == 1)

        // A hand-built one with a double booking hidden in it: rejected, and the explanation names it.
        let large = BookingHistory(operations: Self.seedShapedHistory(users: 5_000), capacities: Self.capacities())
        #expect(LinearizabilityChecker().check(large).isLinearizable)
        var doubled = large
        doubled.operations[4_321].outcome = .booked(BookingID(2))
        report = LinearizabilityChecker().check(doubled)
        #expect(report?.counterexample?.conflict.map(\.request.rawValue) == ["req-37", "req-4322"])
    }
}
