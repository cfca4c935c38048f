import BookingCore
import Scenarios
import Testing

/// The smallest scenario the format accepts; tests add to it.
let minimalYAML = """
    name: minimal
    rooms:
      - {id: 1, capacity: 1}
    users:
      - {count: 3, room: 1, check_in: 2026-03-15, check_out: 2026-03-17}
    """

func parse(_ yaml: String) throws(ScenarioError) -> Scenario {
    try ScenarioLoader.parse(yaml: yaml, file: "test.yaml")
}

@Suite struct ScenarioParsingTests {
    @Test func defaultsMatchTheScenarioInitializer() throws {
        let scenario = try parse(minimalYAML)
        let stay = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!
        let expected = Scenario(name: "minimal", rooms: [RoomSpec(id: RoomID(1), name: "Room 1", capacity: 1)],
                                users: [UserGroup(count: 3, stay: stay, arrival: .at(.zero))])
        #expect(scenario == expected)
        #expect(scenario.summary == "")
        #expect(scenario.seed == 1)
        #expect(scenario.variant == .seed)
        #expect(scenario.inventoryNights == [Night(iso: "2026-03-15")!, Night(iso: "2026-03-16")!])
        #expect(scenario.bookingReplicas == 2)
        #expect(scenario.clientTimeout == .seconds(30))
        #expect(scenario.inventoryTimeout == .seconds(5))
        #expect(scenario.lock == .seed)
        #expect(scenario.latency == .lan)
        #expect(scenario.faults.isEmpty)
        #expect(scenario.slo == .seed)
        #expect(scenario.expectedSuccesses == nil)
    }

    @Test func everyFieldIsRead() throws {
        let scenario = try parse("""
            name: everything
            description: >
              Every key,
              folded.
            seed: 18446744073709551615
            variant: seed
            rooms:
              - {id: 7, name: Penthouse, capacity: 0}
              - id: 3
                name: Attic
                capacity: 12
            inventory: {from: 2026-02-27, nights: 5}
            users:
              - count: 5_000
                room: 3
                check_in: 2026-02-28
                check_out: 2026-03-02
                arrival: 1.5ms
              - {count: 2, room: 7, check_in: 2026-03-01, check_out: 2026-03-03, arrival: {uniform: [10us, 2s]}}
            booking_replicas: 5
            client_timeout: 2.5s
            inventory_timeout: 750ms
            lock: {ttl: 3s, backoff: [1ms, 0ms]}
            latency:
              client-booking: 2ms
              booking-redis: {min: 200us, max: 1ms, tail: {ratio: 1/100, min: 50ms, max: 200ms}}
            faults: []
            slo: {p95: 900ms, mean: 0.25s}
            expect: {successes: 0}
            """)
        #expect(scenario.name == "everything")
        #expect(scenario.summary == "Every key, folded.")
        #expect(scenario.seed == UInt64.max)
        #expect(scenario.variant == .seed)
        #expect(scenario.rooms == [RoomSpec(id: RoomID(7), name: "Penthouse", capacity: 0),
                                   RoomSpec(id: RoomID(3), name: "Attic", capacity: 12)])
        let from = Night(iso: "2026-02-27")!
        #expect(scenario.inventoryNights == (0..<5).map { from.adding(days: $0) })
        #expect(scenario.users == [
            UserGroup(count: 5_000,
                      stay: Stay(room: RoomID(3), checkIn: Night(iso: "2026-02-28")!, checkOut: Night(iso: "2026-03-02")!)!,
                      arrival: .at(.microseconds(1500))),
            UserGroup(count: 2,
                      stay: Stay(room: RoomID(7), checkIn: Night(iso: "2026-03-01")!, checkOut: Night(iso: "2026-03-03")!)!,
                      arrival: .uniform(.microseconds(10), .seconds(2))),
        ])
        #expect(scenario.bookingReplicas == 5)
        #expect(scenario.clientTimeout == .milliseconds(2500))
        #expect(scenario.inventoryTimeout == .milliseconds(750))
        #expect(scenario.lock == LockPolicy(ttl: .seconds(3), backoff: [.milliseconds(1), .zero]))
        #expect(scenario.latency[.clientBooking] == .fixed(.milliseconds(2)))
        #expect(scenario.latency[.bookingRedis] == LatencyDistribution(
            min: .microseconds(200), max: .milliseconds(1),
            tail: .init(numerator: 1, denominator: 100, min: .milliseconds(50), max: .milliseconds(200))))
        // Hops the file leaves out keep the LAN profile.
        for hop in [Hop.bookingPostgres, .bookingInventory, .inventoryPostgres] {
            #expect(scenario.latency[hop] == LatencyProfile.lan[hop])
        }
        #expect(scenario.latency.hops.count == Hop.allCases.count)
        #expect(scenario.faults.isEmpty)
        #expect(scenario.slo == ServiceLevelObjective(p95: .milliseconds(900), mean: .milliseconds(250)))
        #expect(scenario.expectedSuccesses == 0)
    }

    @Test func partialSectionsKeepTheSeedDefaultsForMissingKeys() throws {
        let scenario = try parse(minimalYAML + """

            lock: {ttl: 1s}
            slo: {mean: 2s}
            """)
        #expect(scenario.lock == LockPolicy(ttl: .seconds(1), backoff: LockPolicy.seed.backoff))
        #expect(scenario.slo == ServiceLevelObjective(p95: ServiceLevelObjective.seed.p95, mean: .seconds(2)))
    }

    /// `serving`: sync workers, accept queue and service time per service; a service left out,
    /// or a key left out, keeps its default (every request at once; backlog 2048).
    @Test func servingIsReadPerService() throws {
        let scenario = try parse(minimalYAML + """

            serving:
              booking: {workers: 4, service_time: {min: 2ms, max: 6ms}}
            """)
        #expect(scenario.bookingServing == Serving(workers: 4, backlog: 2048, serviceTime: LatencyDistribution(min: .milliseconds(2), max: .milliseconds(6))))
        #expect(scenario.inventoryServing == .unlimited)
        #expect(try parse(minimalYAML).bookingServing.isUnlimited)
        let bothSet = try parse(minimalYAML + """

            serving:
              inventory: {workers: 1, backlog: 0, service_time: 1ms}
            """)
        #expect(bothSet.inventoryServing == Serving(workers: 1, backlog: 0, serviceTime: .fixed(.milliseconds(1))))
    }

    @Test func keysWithNoValueTakeTheirDefault() throws {
        let scenario = try parse(minimalYAML + """

            seed:
            description: ~
            latency: null
            faults:
            """)
        #expect(scenario.seed == 1)
        #expect(scenario.summary == "")
        #expect(scenario.latency == .lan)
    }

    @Test func defaultInventoryCoversEveryStayOnce() throws {
        let scenario = try parse("""
            name: two
            rooms: [{id: 1, capacity: 1}, {id: 2, capacity: 1}]
            users:
              - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-17}
              - {count: 1, room: 2, check_in: 2026-03-16, check_out: 2026-03-19}
            """)
        #expect(scenario.inventoryNights.map(\.description) == ["2026-03-15", "2026-03-16", "2026-03-17", "2026-03-18"])
    }

    @Test func aliasesAreFollowed() throws {
        let scenario = try parse("""
            name: aliases
            rooms: [{id: 1, capacity: 1}]
            users:
              - &stay {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-17}
              - *stay
            """)
        #expect(scenario.userCount == 2)
    }

    @Test func quotedValuesAreReadLikePlainOnes() throws {
        let scenario = try parse("""
            name: "null"
            seed: '42'
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: "2026-03-15", check_out: '2026-03-16', arrival: "5ms"}]
            """)
        #expect(scenario.name == "null")
        #expect(scenario.seed == 42)
        #expect(scenario.users[0].arrival == .at(.milliseconds(5)))
    }

    @Test func faultsOfEveryKindParse() throws {
        let scenario = try ScenarioLoader.parse(yaml: """
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 2, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            variant: atomic+fenced
            faults:
              - {kind: pause, target: booking, point: after-lock-acquired, duration: 12s}
              - {kind: pause, target: booking-2, at: 5ms, duration: 1s, activation: 1/2}
              - {kind: latency-spike, hop: booking-redis, ratio: 1/20, duration: 200ms}
              - {kind: request-loss, hop: client-booking, ratio: 1/100, from: 0ms, until: 2s}
              - {kind: reply-loss, hop: booking-inventory, ratio: 1/50, limit: 3}
              - {kind: partition, between: [booking-1, redis], at: 50ms, duration: 2s}
              - {kind: crash, target: inventory, point: inventory-before-commit, duration: 500ms}
              - {kind: redis-restart, at: 100ms}
              - {kind: redis-failover, point: after-lock-acquired, duration: 20ms}
              - {kind: redis-clock-jump, at: 30ms, duration: 11s}
              - {kind: connection-loss, target: booking, ratio: 1/100}
              - {kind: postgres-abort, ratio: 1/30}
              - {kind: statement-timeout, target: inventory, ratio: 1/1, duration: 250ms}
              - {kind: client-retry, retries: 2}
            """, file: "test.yaml")
        #expect(scenario.variant == Variant(fixes: [.atomic, .fenced]))
        #expect(scenario.variant.rawValue == "fenced+atomic")
        #expect(scenario.faults.count == 14)
        #expect(scenario.faults[0] == FaultSpec(kind: .pause, trigger: .point(.lockAcquired, .always), target: .booking(nil), duration: .seconds(12)))
        #expect(scenario.faults[1].activation == Ratio(1, 2))
        #expect(scenario.faults[1].trigger == .at(.milliseconds(5)))
        #expect(scenario.faults[3].trigger == .ratio(Ratio(1, 100), from: .zero, until: .seconds(2)))
        #expect(scenario.faults[4].limit == 3)
        #expect(scenario.faults[5].peers == [.booking(1), .redis])
        #expect(scenario.faults[7].duration == .milliseconds(100))
        #expect(scenario.faults[13].retries == 2)
        #expect(scenario.faults[13].trigger == .ratio(.always, from: nil, until: nil))
    }
}
