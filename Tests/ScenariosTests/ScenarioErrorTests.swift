import BookingCore
import Foundation
import Scenarios
import Testing

/// Parses `yaml`, expecting it to fail, and returns the error.
@discardableResult
func failure(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ScenarioError? {
    #expect(throws: ScenarioError.self, sourceLocation: sourceLocation) { try parse(yaml) }
}

/// Checks the error's kind, place and wording; `line` is the 1-based line the message must name.
func expectFailure(_ yaml: String, kind: ScenarioError.Kind, line: Int, column: Int? = nil, saying fragments: String...,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error = failure(yaml, sourceLocation: sourceLocation) else { return }
    #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    #expect(error.file == "test.yaml", sourceLocation: sourceLocation)
    #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
    #expect(error.description.hasPrefix("test.yaml:\(line):"), "\(error)", sourceLocation: sourceLocation)
    if let column {
        #expect(error.column == column, "\(error)", sourceLocation: sourceLocation)
    }
    for fragment in fragments {
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct ScenarioErrorTests {
    // MARK: The kinds the format promises to catch, each at its exact line

    @Test func badDurationNamesItsPathLineAndColumn() {
        let yaml = """
            name: t
            rooms:
              - {id: 1, capacity: 1}
            users:
              - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}
            latency:
              client-booking: {min: 1ms, max: fast}
            """
        let error = failure(yaml)
        #expect(error?.description == "test.yaml:7:35: 'latency.client-booking.max' must be a duration like 5ms, 1.5s or 200us; got 'fast'")
    }

    @Test func badServingNamesTheKey() {
        expectFailure(minimalYAML + "\nserving:\n  booking: {workers: 0}", kind: .invalidValue, line: 7, saying: "'serving.booking.workers'", "must be at least 1; got 0")
        expectFailure(minimalYAML + "\nserving:\n  redis: {workers: 2}", kind: .unknownKey, line: 7, saying: "redis")
        expectFailure(minimalYAML + "\nserving:\n  inventory: {workers: 2, threads: 4}", kind: .unknownKey, line: 7, saying: "threads")
    }

    @Test func badDurationInBlockStyle() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            latency:
              client-booking:
                min: 1ms
                max: fast
            """, kind: .invalidValue, line: 7, column: 10, saying: "'latency.client-booking.max' must be a duration like 5ms, 1.5s or 200us; got 'fast'")
    }

    @Test func unknownTopLevelKeySuggestsAndListsTheAllowedKeys() {
        expectFailure("""
            name: t
            sede: 3
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            """, kind: .unknownKey, line: 2, column: 1,
            saying: "unknown key 'sede' at the top level", "did you mean 'seed'?",
            "allowed keys: name, description, seed, variant, rooms, inventory, users, booking_replicas, client_timeout, inventory_timeout, lock, latency, serving, faults, slo, expect")
    }

    @Test func unknownNestedKey() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users:
              - count: 1
                room: 1
                check_in: 2026-03-15
                checkout: 2026-03-16
            """, kind: .unknownKey, line: 7, column: 5,
            saying: "unknown key 'checkout' in 'users[0]'", "did you mean 'check_out'?", "allowed keys: count, room, check_in, check_out, arrival")
    }

    @Test func unknownHopListsTheHops() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            latency:
              client-redis: 1ms
            """, kind: .unknownKey, line: 5,
            saying: "allowed keys: client-booking, booking-redis, booking-postgres, booking-inventory, inventory-postgres")
    }

    @Test func impossibleDate() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users:
              - count: 1
                room: 1
                check_in: 2026-02-30
                check_out: 2026-03-02
            """, kind: .invalidValue, line: 6, column: 15, saying: "'users[0].check_in' must be a real calendar date; 2026-02-30 does not exist")
    }

    @Test func malformedDate() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            inventory: {from: 1 March 2026, nights: 30}
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            """, kind: .invalidValue, line: 3, saying: "'inventory.from' must be a date YYYY-MM-DD like 2026-03-15; got '1 March 2026'")
    }

    @Test(arguments: ["2026-03-15", "2026-03-14"])
    func checkOutNotAfterCheckIn(checkOut: String) {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users:
              - count: 1
                room: 1
                check_in: 2026-03-15
                check_out: \(checkOut)
            """, kind: .invalidValue, line: 7, column: 16, saying: "'users[0].check_out' (\(checkOut)) must be after check_in (2026-03-15)")
    }

    @Test func unknownRoomListsTheRooms() {
        expectFailure("""
            name: t
            rooms:
              - {id: 1, capacity: 1}
              - {id: 4, capacity: 2}
            users:
              - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}
              - {count: 1, room: 9, check_in: 2026-03-15, check_out: 2026-03-16}
            """, kind: .invalidValue, line: 7, saying: "'users[1].room' must be one of the rooms' ids (1, 4); got '9'")
    }

    @Test func unknownVariantListsTheVariants() {
        expectFailure("""
            name: t
            variant: fencedd
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            """, kind: .invalidValue, line: 2, column: 10,
            saying: "'variant' must be seed, lock-free, or fixes joined by '+' from: fenced, atomic, idempotent, crash-safe; got 'fencedd'")
    }

    @Test func anUnknownFaultKindListsTheKinds() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            faults:
              - kind: lock-expiry
            """, kind: .invalidValue, line: 5, saying: "'faults[0].kind' must be one of: pause, latency-spike", "got 'lock-expiry'")
    }

    @Test func aFaultMissingWhatItNeedsSaysWhat() {
        let header = """
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            faults:

            """
        expectFailure(header + "  - {kind: pause, point: after-lock-acquired, duration: 12s}", kind: .missingKey, line: 5, saying: "needs 'target'")
        expectFailure(header + "  - {kind: pause, target: booking, point: after-lock-acquired}", kind: .missingKey, line: 5, saying: "needs 'duration'")
        expectFailure(header + "  - {kind: reply-loss, ratio: 1/10}", kind: .missingKey, line: 5, saying: "needs 'hop'")
        expectFailure(header + "  - {kind: pause, target: booking, point: halfway, duration: 1s}", kind: .invalidValue, line: 5,
                      saying: "'faults[0].point' must be one of: after-lock-acquired")
        expectFailure(header + "  - {kind: crash, target: redis, at: 1s}", kind: .invalidValue, line: 5, saying: "must be booking or inventory")
        expectFailure(header + "  - {kind: pause, target: booking, point: inventory-before-commit, duration: 1s}", kind: .invalidValue, line: 5,
                      saying: "inventory-before-commit is reached by the inventory service only; give target: inventory")
        expectFailure(header + "  - {kind: crash, target: inventory, point: before-commit, duration: 1s}", kind: .invalidValue, line: 5,
                      saying: "before-commit is reached by a booking replica only; give target: booking")
        expectFailure(header + "  - {kind: partition, at: 1s, duration: 1s}", kind: .missingKey, line: 5, saying: "needs 'between'")
        expectFailure(header + "  - {kind: reply-loss, hop: client-booking, at: 1s}", kind: .invalidValue, line: 5, saying: "cannot be pinned at a time")
    }

    @Test func aClientRetryTakesAnOptionalDurationTheImpatientClientsWait() throws {
        let header = """
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            faults:

            """
        let impatient = try parse(header + "  - {kind: client-retry, ratio: 1/2, duration: 50ms, limit: 1}")
        #expect(impatient.faults == [FaultSpec(kind: .clientRetry, trigger: .ratio(Ratio(1, 2), from: nil, until: nil),
                                               duration: .milliseconds(50), limit: 1, retries: 1)])
        // Without one it re-sends after the client timeout, as before.
        let patient = try parse(header + "  - {kind: client-retry, retries: 2}")
        #expect(patient.faults.map(\.duration) == [.zero])
        expectFailure(header + "  - {kind: client-retry, duration: soon}", kind: .invalidValue, line: 5,
                      saying: "'faults[0].duration' must be a duration like 5ms, 1.5s or 200us; got 'soon'")
        expectFailure(header + "  - {kind: client-retry, duration: 0ms}", kind: .invalidValue, line: 5,
                      saying: "'faults[0].duration' must be longer than zero")
        expectFailure(header + "  - {kind: reply-loss, hop: client-booking, ratio: 1/2, duration: 5ms}", kind: .invalidValue, line: 5,
                      saying: "a reply-loss fault takes no 'duration'")
    }

    @Test func yamlSyntaxErrorCarriesTheMark() {
        let error = failure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users:
              - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16
            seed: 1
            """)
        #expect(error?.kind == .syntax)
        #expect(error?.line == 5)
        #expect(error?.message.hasPrefix("invalid YAML: ") == true)
        #expect(error?.message.contains("line 4") == true, "the context names the unclosed mapping's line")
    }

    @Test func yamlIndentationError() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
              users: []
            """, kind: .syntax, line: 3, column: 3, saying: "invalid YAML: did not find expected key (while parsing a block mapping at line 1, column 1)")
    }

    @Test func tabsAreASyntaxError() {
        expectFailure("name: t\nrooms:\n\t- {id: 1, capacity: 1}\n", kind: .syntax, line: 3, column: 1,
                      saying: "invalid YAML: tabs cannot indent YAML; use spaces")
    }

    @Test func controlCharactersAreReportedWhereTheyAre() {
        expectFailure("name: t\nrooms: [{id: 1, capacity: 1}]\ndescription: \"a\u{01}b\"\n", kind: .syntax, line: 3, column: 16,
                      saying: "invalid YAML: control characters are not allowed")
    }

    @Test func oneDocumentPerFile() {
        expectFailure("name: a\n---\nname: b\n", kind: .syntax, line: 2, saying: "a scenario file holds one document")
    }

    @Test func duplicateKey() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            name: u
            """, kind: .syntax, line: 1, saying: "key 'name' appears more than once in this mapping (first here)")
    }

    @Test func missingFile() {
        let path = "/nonexistent-overbook-dir/missing.yaml"
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: path) }
        #expect(error?.kind == .fileNotFound)
        #expect(error?.line == nil)
        #expect(error?.description == "\(path): no such scenario file")
    }

    @Test func directoryIsNotAScenario() {
        let directory = FileManager.default.temporaryDirectory.path
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: directory) }
        #expect(error?.kind == .unreadableFile)
        #expect(error?.message.contains("is a directory") == true)
    }

    @Test func invalidUTF8NamesTheLine() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("overbook-scenarios-\(ProcessInfo.processInfo.processIdentifier)-latin1.yaml").path
        let bytes = Array("name: t\ndescription: caf".utf8) + [0xE9] + Array("\n".utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: path) }
        #expect(error?.kind == .unreadableFile)
        #expect(error?.description == "\(path):2:17: is not UTF-8 text; save the file as UTF-8")
    }

    @Test func fileErrorsNameThePathAsGiven() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("overbook-scenarios-\(ProcessInfo.processInfo.processIdentifier)-bad.yaml").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("name: t\nseed: -1\n".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: path) }
        #expect(error?.description.hasPrefix("\(path):2:7: 'seed' must be a whole number") == true, "\(String(describing: error))")
    }

    // MARK: Every other rule

    @Test(arguments: [
        // (yaml, kind, line, message fragment)
        ("", ScenarioError.Kind.missingKey, 1, "holds no scenario"),
        ("# only a comment\n", .missingKey, 1, "holds no scenario"),
        ("- name: t\n", .wrongType, 1, "a scenario file must be a mapping with keys name, description"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\n", .missingKey, 1, "'users' is required at the top level"),
        ("rooms: [{id: 1, capacity: 1}]\nusers: []\n", .missingKey, 1, "'name' is required"),
        ("name:\nrooms: [{id: 1, capacity: 1}]\n", .missingKey, 1, "'name' needs a value"),
        ("name: ' '\n", .invalidValue, 1, "'name' must not be empty"),
        ("name: t\nrooms: []\n", .invalidValue, 2, "'rooms' must list at least one room"),
        ("name: t\nrooms: {id: 1}\n", .wrongType, 2, "'rooms' must be a list of rooms like {id: 1, name: Standard Single, capacity: 1}; got a mapping"),
        ("name: t\nrooms:\n  - {id: 1, capacity: 1}\n  - {id: 1, capacity: 2}\n", .invalidValue, 4, "room id 1 is already used by rooms[0] (line 3)"),
        ("name: t\nrooms:\n  - {id: 0, capacity: 1}\n", .invalidValue, 3, "'rooms[0].id' must be at least 1; got 0"),
        ("name: t\nrooms:\n  - {id: 1, capacity: -1}\n", .invalidValue, 3, "'rooms[0].capacity' must be at least 0; got -1"),
        ("name: t\nrooms:\n  - {id: 1, capacity: lots}\n", .invalidValue, 3, "'rooms[0].capacity' must be a whole number; got 'lots'"),
        ("name: t\nrooms:\n  - {id: 1}\n", .missingKey, 3, "'rooms[0].capacity' is required in 'rooms[0]'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: []\n", .invalidValue, 3, "'users' must list at least one group"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers:\n  - {count: 0, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}\n",
         .invalidValue, 4, "'users[0].count' must be at least 1; got 0"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers:\n  - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: -5ms}\n",
         .invalidValue, 4, "'users[0].arrival' must not be negative; got '-5ms'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers:\n  - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: {uniform: [5ms, 1ms]}}\n",
         .invalidValue, 4, "'users[0].arrival.uniform' must run from the earlier to the later time; got [5ms, 1ms]"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers:\n  - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: {uniform: [5ms]}}\n",
         .invalidValue, 4, "'users[0].arrival.uniform' must be two durations [from, to]; got 1 values"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers:\n  - {count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16, arrival: [0ms]}\n",
         .wrongType, 4, "'users[0].arrival' must be a duration like 0ms (everyone at once) or {uniform: [0ms, 50ms]}; got a list"),
        ("name: t\nseed: -1\n", .invalidValue, 2, "'seed' must be a whole number from 0 to 18446744073709551615; got '-1'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nbooking_replicas: 0\n",
         .invalidValue, 4, "'booking_replicas' must be at least 1; got 0"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nclient_timeout: 0s\n",
         .invalidValue, 4, "'client_timeout' must be longer than zero"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\ninventory_timeout: 1.5ns\n",
         .invalidValue, 4, "'inventory_timeout' must be a whole number of nanoseconds; got '1.5ns'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlock: {ttl: 10s, backoff: []}\n",
         .invalidValue, 4, "'lock.backoff' must list at least one pause"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlock:\n  ttl: 10s\n  backoff: [100ms, soon]\n",
         .invalidValue, 6, "'lock.backoff[1]' must be a duration"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlatency:\n  booking-redis: {min: 5ms, max: 1ms}\n",
         .invalidValue, 5, "'latency.booking-redis.max' (1ms) must not be less than 'latency.booking-redis.min' (5ms)"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlatency:\n  booking-redis: {min: 1ms}\n",
         .missingKey, 5, "'latency.booking-redis.max' is required in 'latency.booking-redis'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlatency:\n  booking-redis: {min: 1ms, max: 2ms, tail: {ratio: 3/2, min: 1ms, max: 2ms}}\n",
         .invalidValue, 5, "'latency.booking-redis.tail.ratio' must be a ratio n/d like 1/100 with 0 <= n <= d and d > 0; got '3/2'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlatency:\n  booking-redis: {min: 1ms, max: 2ms, tail: {ratio: 1/0, min: 1ms, max: 2ms}}\n",
         .invalidValue, 5, "got '1/0'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nlatency: [1ms]\n",
         .wrongType, 4, "'latency' must be a mapping with keys client-booking, booking-redis"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nfaults: none\n",
         .wrongType, 4, "'faults' must be a list"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nslo: {p95: 1.5s, p99: 2s}\n",
         .unknownKey, 4, "unknown key 'p99' in 'slo' (did you mean 'p95'?); allowed keys: p95, mean"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\nexpect: {successes: -1}\n",
         .invalidValue, 4, "'expect.successes' must be at least 0; got -1"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\ninventory: {from: 2026-03-01, nights: 0}\n",
         .invalidValue, 4, "'inventory.nights' must be at least 1; got 0"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\ninventory: {nights: 3}\n",
         .missingKey, 4, "'inventory.from' is required in 'inventory'"),
        ("name: t\nrooms: [{id: 1, capacity: 1}]\nusers: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]\n? [a]\n: b\n",
         .wrongType, 4, "keys at the top level must be plain words; got a list"),
    ] as [(String, ScenarioError.Kind, Int, String)])
    func rule(yaml: String, kind: ScenarioError.Kind, line: Int, fragment: String) {
        expectFailure(yaml, kind: kind, line: line, saying: fragment)
    }

    @Test func inventoryMustCoverEveryStayAndTheErrorNamesTheGroup() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            inventory:
              from: 2026-03-01
              nights: 16
            users:
              - {count: 1, room: 1, check_in: 2026-03-14, check_out: 2026-03-16}
              - count: 1
                room: 1
                check_in: 2026-03-15
                check_out: 2026-03-18
            """, kind: .invalidValue, line: 8, column: 5,
            saying: "'users[1]' stays 2026-03-15..2026-03-18 but 'inventory' (line 3) has no availability for the night of 2026-03-17; it covers 2026-03-01 to 2026-03-16 (16 nights)")
    }

    @Test func inventoryStartingAfterAStayIsCaughtToo() {
        expectFailure("""
            name: t
            rooms: [{id: 1, capacity: 1}]
            inventory: {from: 2026-03-16, nights: 30}
            users: [{count: 1, room: 1, check_in: 2026-03-15, check_out: 2026-03-17}]
            """, kind: .invalidValue, line: 4, saying: "no availability for the night of 2026-03-15")
    }

    @Test func errorsDescribeThemselvesForLocalizedDescription() {
        let error = ScenarioError(kind: .invalidValue, file: "a.yaml", line: 3, column: 4, message: "bad")
        #expect(error.localizedDescription == "a.yaml:3:4: bad")
    }
}
