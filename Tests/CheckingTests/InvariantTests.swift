import BookingCore
import Checking
import RunObservation
@testable import Simulation
import Testing

/// The checkers find each kind of violation in a run's results (built by hand here, so the
/// checkers are tested independently of whether the algorithm can produce them yet).
@Suite struct InvariantTests {
    static let scenario = Scenario.seedExperiment(users: 3)
    static let stay = scenario.users[0].stay
    static let nights = stay.nights.map { RoomNight(room: stay.room, night: $0) }

    static func outcome(_ index: Int, status: Int?, latencyMs: Int64 = 10) -> ClientOutcome {
        ClientOutcome(user: UserID.numbered(index), process: ProcessID(kind: .client, index: index), stay: stay,
                      sentAt: 0, completedAt: latencyMs * 1_000_000, status: status)
    }

    static func booking(_ id: Int, user: Int) -> Booking {
        Booking(id: BookingID(id), userID: UserID.numbered(user), room: stay.room, checkIn: stay.checkIn, checkOut: stay.checkOut)
    }

    /// A consistent finished run: user 1 booked, the others refused, inventory decremented once.
    static func cleanOutput() -> RunObservation {
        var availability: [(RoomNight, Int)] = []
        for key in scenario.inventoryNights.map({ RoomNight(room: RoomID(1), night: $0) }) {
            availability.append((key, nights.contains(key) ? 0 : 1))
        }
        return RunObservation(
            run: 1, outcomes: [outcome(1, status: 201), outcome(2, status: 409), outcome(3, status: 503)],
            quiescent: QuiescentState(time: 1_000_000_000, bookings: [booking(1, user: 1)], availability: availability))
    }

    static func invariants(_ output: RunObservation) -> [Invariant] {
        Verdicts.judge(scenario: scenario, observation: output, duringRun: []).violatedInvariants
    }

    @Test func aConsistentRunPasses() {
        let verdict = Verdicts.judge(scenario: Self.scenario, observation: Self.cleanOutput(), duringRun: [])
        #expect(verdict.violations == [])
        #expect(verdict.criteria.allSatisfy { $0.passed || !$0.decides })
    }

    @Test func aDoubleBookingBreaksCapacityAndConsistency() {
        var output = Self.cleanOutput()
        output.quiescent.bookings.append(Self.booking(2, user: 2))
        output.outcomes[1].status = 201
        // Two 201s for a room of capacity 1: no order of the confirms explains them either.
        #expect(Self.invariants(output) == [.capacity, .inventoryConsistent, .linearizable])
        let verdict = Verdicts.judge(scenario: Self.scenario, observation: output, duringRun: [])
        #expect(!verdict.criteria.first { $0.title.hasPrefix("Only 1") }!.passed)
    }

    @Test func inventoryDecrementedWithoutABookingIsInconsistent() {
        var output = Self.cleanOutput()
        output.quiescent.bookings = []
        // User 1 was told 201 yet no booking is left: the history check rejects that too.
        #expect(Self.invariants(output) == [.inventoryConsistent, .linearizable])
    }

    @Test func twoBookingsForOneUserAreDuplicates() {
        var output = Self.cleanOutput()
        output.quiescent.bookings.append(Self.booking(2, user: 1))
        #expect(Self.invariants(output).contains(.noDuplicateBooking))
    }

    @Test func anUnfinishedRequestIsReported() {
        var output = Self.cleanOutput()
        output.outcomes[2].completedAt = nil
        output.outcomes[2].status = nil
        #expect(Self.invariants(output) == [.everyRequestAnswered])
    }

    @Test func aTimeoutIsAnAnswerButFailsTheNoTimeoutCriterion() {
        var output = Self.cleanOutput()
        output.outcomes[2].status = nil
        let verdict = Verdicts.judge(scenario: Self.scenario, observation: output, duringRun: [])
        #expect(verdict.violations == [])
        #expect(verdict.criteria.first { $0.title == "No timeouts" }?.passed == false)
    }

    @Test func aLockLeftByALiveProcessIsReportedButNotOneLeftByACrashedProcess() {
        var output = Self.cleanOutput()
        let setter = ProcessContext(id: ProcessID(kind: .booking, index: 1), incarnation: 0)
        output.quiescent.liveLocks = [LiveLock(key: "lock:room:1:2026-03-15", value: "t", setter: setter, releaseAttempted: false)]
        #expect(Self.invariants(output) == [.noLockLeftHeld])
        output.quiescent.crashed = [setter.id]
        #expect(Self.invariants(output) == [])
    }

    @Test func slowAnswersBreakTheSLO() {
        var output = Self.cleanOutput()
        output.outcomes = (1...3).map { Self.outcome($0, status: $0 == 1 ? 201 : 409, latencyMs: 2_000) }
        #expect(Self.invariants(output) == [.latencyP95, .latencyMean])
    }

    @Test func aHarnessFailureFailsTheRun() {
        var output = Self.cleanOutput()
        output.incompletion = SimulationFailure.stuck(["user-1 at sleep"]).description
        #expect(Self.invariants(output) == [.runCompleted])
    }

    @Test func percentilesInterpolateLikeNumpy() {
        let stats = LatencyStatistics([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map { Int64($0) * 100 })
        #expect(stats.min == 100 && stats.max == 1000)
        #expect(stats.mean == 550)
        #expect(stats.median == 550)
        #expect(stats.p95 == 955)
        #expect(stats.p99 == 991)
    }
}

/// The seed algorithm in the simulator, with no faults: exactly one booking every time, and
/// every invariant holds.
@Suite struct SeedAlgorithmTests {
    @Test func exactlyOneBookingAndEveryInvariantOverManySeeds() {
        var batch = BatchSummary()
        for seed: UInt64 in 1...200 {
            let verdict = Verdicts.simulate(.seedExperiment(), seed: seed)
            #expect(verdict.violations == [], "seed \(seed): \(verdict.violations)")
            batch.add(verdict)
        }
        #expect(batch.successesPerRun == [1: 200])
        #expect(batch.failedRuns == 0)
        // The losers are refused with 409 (saw no room) or 503 (never got the lock).
        #expect(Set(batch.statusTotals.keys) .isSubset(of: [201, 409, 503]))
    }

    /// The seed's flaw that needs no fault at all: stays 15..17 and 16..18 take different lock
    /// keys (the lock covers the check-in night only), both see the shared night 16 available,
    /// and the inventory's read-modify-write loses one decrement. Both get 201.
    @Test func overlappingStaysWithDifferentCheckInsDoubleBookTheSharedNight() {
        let first = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!
        let second = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-16")!, checkOut: Night(iso: "2026-03-18")!)!
        let scenario = Scenario(name: "overlap", rooms: RoomSpec.seedRooms,
                                users: [UserGroup(count: 1, stay: first, arrival: .at(.zero)),
                                        UserGroup(count: 1, stay: second, arrival: .at(.zero))])
        var doubleBooked = 0
        for seed: UInt64 in 1...50 {
            let verdict = Verdicts.simulate(scenario, seed: seed)
            guard verdict.violatedInvariants.contains(.capacity) else { continue }
            doubleBooked += 1
            #expect(verdict.observation.outcomes.allSatisfy { $0.status == 201 })
            #expect(verdict.violations.first { $0.invariant == .capacity }!.message.contains("2026-03-16"))
            #expect(verdict.violatedInvariants.contains(.inventoryConsistent))
        }
        #expect(doubleBooked > 0)
    }

    @Test func theMonitorSeesCommittedStateDuringTheRun() {
        let monitor = InvariantMonitor(scenario: .seedExperiment())
        let output = ScenarioSimulation.run(.seedExperiment(), seed: 9, observer: monitor)
        #expect(output.failure == nil)
        #expect(monitor.violations == [])
        #expect(output.quiescent.bookings.count == 1)
        #expect(output.quiescent.availability.first { $0.0.room == RoomID(1) && $0.0.night == Night(iso: "2026-03-15")! }?.1 == 0)
    }
}
