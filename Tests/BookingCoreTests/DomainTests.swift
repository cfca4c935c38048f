import BookingCore
import Testing

@Suite struct NightTests {
    @Test(arguments: ["1970-01-01", "2026-03-15", "2024-02-29", "2000-02-29", "1999-12-31", "9999-12-31", "0001-01-01"])
    func parsesAndPrintsTheSameDate(_ text: String) {
        #expect(Night(iso: text)?.description == text)
    }

    @Test(arguments: ["2026-02-29", "2026-02-30", "1900-02-29", "2026-13-01", "2026-00-10", "2026-3-15", "2026/03/15", "", "20260315", "2026-03-1x"])
    func refusesWhatIsNotADate(_ text: String) {
        #expect(Night(iso: text) == nil)
    }

    @Test func countsDaysFromTheEpoch() {
        #expect(Night(iso: "1970-01-01")!.daysSinceEpoch == 0)
        #expect(Night(iso: "2026-03-15")!.daysSinceEpoch == 20527)
        #expect(Night(iso: "2026-02-28")!.adding(days: 1).description == "2026-03-01")
        #expect(Night(iso: "2024-12-31")!.adding(days: 1).description == "2025-01-01")
    }

    @Test func aStayHasTheNightsBeforeCheckOut() {
        let stay = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!
        #expect(stay.nights.map(\.description) == ["2026-03-15", "2026-03-16"])
        #expect(Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-15")!) == nil)
    }

    @Test func theSeedExperimentIsTheSeedsSetUp() {
        let scenario = Scenario.seedExperiment()
        #expect(scenario.userCount == 50)
        #expect(scenario.rooms.first { $0.id == RoomID(1) }?.capacity == 1)
        #expect(scenario.lock == LockPolicy(ttl: .seconds(10), backoff: [.milliseconds(100), .milliseconds(200), .milliseconds(400)]))
        #expect(scenario.expandedUsers.map(\.user.rawValue).prefix(2) == ["user_1", "user_2"])
        #expect(scenario.inventoryNights.contains(Night(iso: "2026-03-16")!))
    }
}
