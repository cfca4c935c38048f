import BookingCore
@testable import Scenarios
import Testing

/// `overbook calibrate`'s rewrite of a scenario file: two sections replaced, the rest as written.
@Suite struct ScenarioEditingTests {
    static let original = """
        # header comment
        name: edited
        rooms: [{id: 1, capacity: 1}]
        users:
          - {count: 3, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}
        latency:
          client-booking: 2ms    # one of five

          booking-redis: 1ms
        # about serving
        serving:
          booking: {workers: 4}
        expect: {successes: 1}

        """

    static let latency = LatencyProfile(hops: Dictionary(uniqueKeysWithValues: Hop.allCases.enumerated().map { index, hop in
        (hop, LatencyDistribution(min: .microseconds(100 + index), max: .microseconds(300),
                                  tail: index == 0 ? .init(numerator: 12, denominator: 1000, min: .microseconds(300), max: .milliseconds(4)) : nil))
    }))

    @Test func theTwoSectionsAreReplacedAndTheRestKept() throws {
        let booking = Serving(workers: 4, serviceTime: LatencyDistribution(min: .microseconds(250), max: .microseconds(480)))
        let inventory = Serving(serviceTime: LatencyDistribution(min: .microseconds(80), max: .microseconds(190)))
        let text = ScenarioEditing.calibrated(Self.original, latency: Self.latency, booking: booking, inventory: inventory,
                                              header: ["calibrated"])
        #expect(text == """
            # calibrated
            # header comment
            name: edited
            rooms: [{id: 1, capacity: 1}]
            users:
              - {count: 3, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}
            latency:
              client-booking: {min: 100us, max: 300us, tail: {ratio: 12/1000, min: 300us, max: 4ms}}
              booking-redis: {min: 101us, max: 300us}
              booking-postgres: {min: 102us, max: 300us}
              booking-inventory: {min: 103us, max: 300us}
              inventory-postgres: {min: 104us, max: 300us}
            # about serving
            serving:
              booking: {workers: 4, backlog: 2048, service_time: {min: 250us, max: 480us}}
              inventory: {service_time: {min: 80us, max: 190us}}
            expect: {successes: 1}

            """)
        let reread = try ScenarioLoader.parse(yaml: text, file: "edited.yaml")
        #expect(reread.latency == Self.latency)
        #expect(reread.bookingServing == booking)
        #expect(reread.inventoryServing == inventory)
        #expect(reread.userCount == 3)
    }

    @Test func sectionsMissingFromTheFileAreAppended() throws {
        let plain = "name: bare\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\n"
        let text = ScenarioEditing.calibrated(plain, latency: Self.latency, booking: Serving(serviceTime: .fixed(.microseconds(5))),
                                              inventory: .unlimited, header: [])
        let reread = try ScenarioLoader.parse(yaml: text, file: "bare.yaml")
        #expect(reread.latency == Self.latency)
        #expect(reread.bookingServing.serviceTime == .fixed(.microseconds(5)))
        #expect(reread.inventoryServing == .unlimited)
    }

    @Test func durationsAreWrittenExactlyInTheCoarsestWholeUnit() {
        #expect(ScenarioEditing.duration(.seconds(2)) == "2s")
        #expect(ScenarioEditing.duration(.milliseconds(1_500)) == "1500ms")
        #expect(ScenarioEditing.duration(.microseconds(250)) == "250us")
        #expect(ScenarioEditing.duration(.nanoseconds(1_234)) == "1234ns")
        #expect(ScenarioEditing.duration(.zero) == "0ms")
    }
}
