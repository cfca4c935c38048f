import AsyncHTTPClient
import Backends
import BookingCore
import RealHarness
import Foundation
import NIOHTTP1
import Services
import Testing

// Against real servers: PostgreSQL and Redis from scripts/with-servers.sh, the two services
// over real HTTP in this process. Serialized: the algorithm's lock keys are fixed
// (`lock:room:1:2026-03-15`), so two tests at once would contend for the same lock.
@Suite(.serialized)
struct ServicesTests {
    // MARK: Inventory endpoints

    @Test func inventoryHealthReportsTheDatabase() async throws {
        try await ServiceFixture.with { fixture in
            let answer = try await fixture.inventory(.GET, "/health")
            #expect(answer.status == 200)
            #expect(answer.success == true)
            #expect(answer.json["service"] as? String == "inventory")
            #expect((answer.json["dependencies"] as? [String: String]) == ["inventory_db": "ok"])
            #expect(answer.headers["Content-Type"].first == "application/json")
        }
    }

    @Test func inventoryListsAndShowsRooms() async throws {
        try await ServiceFixture.with { fixture in
            let rooms = try await fixture.inventory(.GET, "/rooms")
            #expect(rooms.status == 200)
            #expect(rooms.json["count"] as? Int == 4)
            let first = (rooms.json["rooms"] as? [[String: Any]])?.first
            #expect(first?["id"] as? Int == 1)
            #expect(first?["total_quantity"] as? Int == 1)

            let room = try await fixture.inventory(.GET, "/rooms/3")
            #expect(room.status == 200)
            #expect((room.json["room"] as? [String: Any])?["name"] as? String == "Deluxe Suite")

            let missing = try await fixture.inventory(.GET, "/rooms/99")
            #expect(missing.status == 404)
            #expect(missing.success == false)
            #expect(missing.error?.contains("99") == true)
        }
    }

    @Test func inventoryAvailabilityReserveAndRelease() async throws {
        try await ServiceFixture.with { fixture in
            let before = try await fixture.inventory(.GET, "/rooms/1/availability?date=2026-03-15")
            #expect(before.status == 200)
            #expect(before.json["available_quantity"] as? Int == 1)
            #expect(before.json["available"] as? Bool == true)
            #expect(before.json["date"] as? String == "2026-03-15")

            let reserve = try await fixture.inventory(.POST, "/rooms/1/reserve", body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17"}"#)
            #expect(reserve.status == 200)
            #expect(reserve.json["nights"] as? [String] == ["2026-03-15", "2026-03-16"])
            #expect(try await fixture.available(night: "2026-03-15") == 0)
            #expect(try await fixture.available(night: "2026-03-16") == 0)

            let again = try await fixture.inventory(.POST, "/rooms/1/reserve", body: #"{"check_in": "2026-03-15", "check_out": "2026-03-16"}"#)
            #expect(again.status == 409)
            #expect(again.success == false)

            let release = try await fixture.inventory(.POST, "/rooms/1/release", body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17", "quantity": 1}"#)
            #expect(release.status == 200)
            #expect(try await fixture.available(night: "2026-03-15") == 1)
            try await fixture.expectNothingWritten()
        }
    }

    // MARK: Booking endpoints

    @Test func bookingHealthReportsEachDependency() async throws {
        try await ServiceFixture.with { fixture in
            let answer = try await fixture.booking(.GET, "/health")
            #expect(answer.status == 200)
            #expect(answer.success == true)
            #expect((answer.json["dependencies"] as? [String: String]) == ["booking_db": "ok", "redis": "ok", "inventory": "ok"])
        }
    }

    @Test func confirmThenReadBack() async throws {
        try await ServiceFixture.with { fixture in
            let confirm = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON(user: "user_7"))
            #expect(confirm.status == 201)
            #expect(confirm.success == true)
            let booking = try #require(confirm.json["booking"] as? [String: Any])
            #expect(booking["user_id"] as? String == "user_7")
            #expect(booking["room_id"] as? Int == 1)
            #expect(booking["check_in"] as? String == "2026-03-15")
            #expect(booking["check_out"] as? String == "2026-03-17")
            #expect(booking["status"] as? String == "confirmed")
            let id = try #require(booking["id"] as? Int)

            let byID = try await fixture.booking(.GET, "/bookings/\(id)")
            #expect(byID.status == 200)
            #expect((byID.json["booking"] as? [String: Any])?["user_id"] as? String == "user_7")

            let byUser = try await fixture.booking(.GET, "/bookings/user/user_7")
            #expect(byUser.status == 200)
            #expect(byUser.json["count"] as? Int == 1)
            let nobody = try await fixture.booking(.GET, "/bookings/user/nobody")
            #expect(nobody.json["count"] as? Int == 0)

            let all = try await fixture.booking(.GET, "/bookings")
            #expect(all.status == 200)
            #expect((all.json["bookings"] as? [[String: Any]])?.count == 1)

            let missing = try await fixture.booking(.GET, "/bookings/999")
            #expect(missing.status == 404)
            #expect(missing.success == false)

            // The room's only unit is gone: the next user gets the seed's 409.
            let second = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON(user: "user_8"))
            #expect(second.status == 409)
            #expect(second.error == "Room not available for the selected dates")

            #expect(try await fixture.available(night: "2026-03-15") == 0)
            #expect(try await fixture.available(night: "2026-03-16") == 0)
            #expect(try await fixture.lock.liveKeys(matching: "lock:*").isEmpty)
        }
    }

    // MARK: Bad input: a 4xx with a JSON error, and nothing written

    struct BadInput: CustomTestStringConvertible, Sendable {
        let name: String
        let method: HTTPMethod
        let service: Service
        let path: String
        let body: String?
        let status: Int
        var testDescription: String { name }

        enum Service: Sendable { case booking, inventory }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "malformed JSON", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": 1,"#, status: 400),
        BadInput(name: "empty body", method: .POST, service: .booking, path: "/bookings/confirm", body: nil, status: 400),
        BadInput(name: "JSON that is not an object", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"[1, 2, 3]"#, status: 400),
        BadInput(name: "missing check_out", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": 1, "check_in": "2026-03-15"}"#, status: 400),
        BadInput(name: "missing user_id", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17"}"#, status: 400),
        BadInput(name: "room_id as a string", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": "1", "check_in": "2026-03-15", "check_out": "2026-03-17"}"#, status: 400),
        BadInput(name: "user_id as a number", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": 7, "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17"}"#, status: 400),
        BadInput(name: "empty user_id", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(user: ""), status: 400),
        BadInput(name: "impossible date", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(checkIn: "2026-02-30", checkOut: "2026-03-02"), status: 400),
        BadInput(name: "date in another format", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(checkIn: "15/03/2026"), status: 400),
        BadInput(name: "check-out equal to check-in", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(checkIn: "2026-03-15", checkOut: "2026-03-15"), status: 400),
        BadInput(name: "check-out before check-in", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(checkIn: "2026-03-17", checkOut: "2026-03-15"), status: 400),
        BadInput(name: "unknown room", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(room: 99), status: 404),
        BadInput(name: "negative room", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(room: -1), status: 400),
        BadInput(name: "wrong method on confirm", method: .GET, service: .booking, path: "/bookings/confirm", body: nil, status: 405),
        BadInput(name: "wrong method on bookings", method: .DELETE, service: .booking, path: "/bookings", body: nil, status: 405),
        BadInput(name: "booking id not a number", method: .GET, service: .booking, path: "/bookings/abc", body: nil, status: 400),
        // Past PostgreSQL's integer: refused before any SQL (it used to reach the database: a 503
        // quoting its error 22003).
        BadInput(name: "booking id beyond an integer", method: .GET, service: .booking, path: "/bookings/133779336016", body: nil, status: 400),
        BadInput(name: "inventory: room id beyond an integer", method: .GET, service: .inventory,
                 path: "/rooms/133779336016/availability?date=2026-03-15", body: nil, status: 400),
        BadInput(name: "room_id beyond an integer", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": 2147483648, "check_in": "2026-03-15", "check_out": "2026-03-17"}"#, status: 400),
        BadInput(name: "empty request_id", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17", "request_id": ""}"#, status: 400),
        BadInput(name: "TRACE on a known path", method: .TRACE, service: .booking, path: "/health", body: nil, status: 405),
        BadInput(name: "inventory: reserve with an empty request_id", method: .POST, service: .inventory, path: "/rooms/1/reserve",
                 body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17", "request_id": ""}"#, status: 400),
        // NUL, which PostgreSQL text cannot store: refused before any SQL (found by the API fuzzer,
        // scripts/fuzz-api.sh: it used to reach the database, a 503 for error 22021).
        BadInput(name: "NUL in user_id", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(user: #"user\u0000_1"#), status: 400),
        BadInput(name: "NUL in request_id", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: #"{"user_id": "user_1", "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17", "request_id": "r\u0000"}"#, status: 400),
        BadInput(name: "NUL in the path's user id", method: .GET, service: .booking, path: "/bookings/user/user%00_1", body: nil, status: 400),
        BadInput(name: "inventory: reserve with NUL in fence_key", method: .POST, service: .inventory, path: "/rooms/1/reserve",
                 body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17", "fencing_token": 1, "fence_key": "\u0000"}"#, status: 400),
        BadInput(name: "inventory: release with NUL in request_id", method: .POST, service: .inventory, path: "/rooms/1/release",
                 body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17", "request_id": "\u0000"}"#, status: 400),
        BadInput(name: "user_id of 201 characters", method: .POST, service: .booking, path: "/bookings/confirm",
                 body: confirmJSON(user: String(repeating: "é", count: 201)), status: 400),
        BadInput(name: "unknown endpoint", method: .GET, service: .booking, path: "/nothing-here", body: nil, status: 404),
        BadInput(name: "inventory: wrong method on a room", method: .DELETE, service: .inventory, path: "/rooms/1", body: nil, status: 405),
        BadInput(name: "inventory: wrong method on reserve", method: .GET, service: .inventory, path: "/rooms/1/reserve", body: nil, status: 405),
        BadInput(name: "inventory: room id not a number", method: .GET, service: .inventory, path: "/rooms/one", body: nil, status: 400),
        BadInput(name: "inventory: availability without a date", method: .GET, service: .inventory, path: "/rooms/1/availability", body: nil, status: 400),
        BadInput(name: "inventory: availability on an impossible date", method: .GET, service: .inventory,
                 path: "/rooms/1/availability?date=2026-13-01", body: nil, status: 400),
        BadInput(name: "inventory: reserve with malformed JSON", method: .POST, service: .inventory, path: "/rooms/1/reserve",
                 body: #"{"check_in": "#, status: 400),
        BadInput(name: "inventory: reserve with check-out before check-in", method: .POST, service: .inventory, path: "/rooms/1/reserve",
                 body: #"{"check_in": "2026-03-17", "check_out": "2026-03-15"}"#, status: 400),
        BadInput(name: "inventory: reserve zero rooms", method: .POST, service: .inventory, path: "/rooms/1/reserve",
                 body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17", "quantity": 0}"#, status: 400),
        BadInput(name: "inventory: reserve an unknown room", method: .POST, service: .inventory, path: "/rooms/99/reserve",
                 body: #"{"check_in": "2026-03-15", "check_out": "2026-03-17"}"#, status: 404),
    ]

    /// openapi.yaml's identifiers are JSON Schema strings: `maxLength: 200` counts characters
    /// (code points), not UTF-8 bytes; and an optional one sent as null is one left out.
    @Test func identifiersAsTheSpecDefinesThem() async throws {
        try await ServiceFixture.with { fixture in
            let user = String(repeating: "é", count: 200)  // 400 bytes
            let confirm = try await fixture.booking(.POST, "/bookings/confirm",
                                                    body: #"{"user_id": "\#(user)", "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17", "request_id": null}"#)
            #expect(confirm.status == 201, "\(confirm.raw)")
            #expect((confirm.json["booking"] as? [String: Any])?["user_id"] as? String == user)
            let encoded = try #require(user.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed))
            let byUser = try await fixture.booking(.GET, "/bookings/user/\(encoded)")
            #expect(byUser.status == 200, "\(byUser.raw)")
            #expect(byUser.json["count"] as? Int == 1)
            let reserve = try await fixture.request(.POST, fixture.inventoryURL + "/rooms/2/reserve",
                                                    body: #"{"check_in": "2026-03-15", "check_out": "2026-03-16", "quantity": null, "request_id": null, "fencing_token": null, "fence_key": null}"#)
            #expect(reserve.status == 200, "\(reserve.raw)")
        }
    }

    @Test(arguments: badInputs)
    func badInputIsRefusedWithJSONAndWritesNothing(_ input: BadInput) async throws {
        try await ServiceFixture.with { fixture in
            let url = (input.service == .booking ? fixture.bookingURL : fixture.inventoryURL) + input.path
            let answer = try await fixture.request(input.method, url, body: input.body)
            #expect(answer.status == input.status, "\(input.name): \(answer.raw)")
            #expect(answer.success == false, "\(input.name): \(answer.raw)")
            #expect(answer.error?.isEmpty == false, "\(input.name): \(answer.raw)")
            #expect(answer.headers["Content-Type"].first == "application/json")
            if input.status == 405 {
                #expect(answer.headers["Allow"].first?.isEmpty == false)
            }
            try await fixture.expectNothingWritten("\(input.name)")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await ServiceFixture.with { fixture in
            // Valid JSON, padded past 64 KiB with an ignored field.
            let padding = String(repeating: "x", count: 70 * 1024)
            let body = #"{"user_id": "user_1", "room_id": 1, "check_in": "2026-03-15", "check_out": "2026-03-17", "pad": "\#(padding)"}"#
            let answer = try await fixture.booking(.POST, "/bookings/confirm", body: body)
            #expect(answer.status == 413)
            #expect(answer.success == false)
            #expect(answer.error?.contains("64 KiB") == true)
            let inventory = try await fixture.inventory(.POST, "/rooms/1/reserve", body: body)
            #expect(inventory.status == 413)
            try await fixture.expectNothingWritten()
            // The services still answer after refusing a large body.
            #expect(try await fixture.booking(.GET, "/health").status == 200)
        }
    }

    // MARK: The seed experiment through HTTP

    @Test func fiftyConcurrentConfirmsYieldExactlyOneBooking() async throws {
        var overrides = ServiceFixture.Overrides()
        overrides.replicas = 2
        try await ServiceFixture.with(overrides) { fixture in
            let targets = try fixture.bookings.map { try HTTPRemoteService<BookingRequest>(baseURL: $0.baseURL, client: fixture.client) }
            let stay = Stay(room: RoomID(1), checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)!
            let plan = (1...50).map { PlannedConfirm(body: ConfirmBody(userID: .numbered($0), stay: stay)) }
            let (results, _) = await ConfirmLoad(targets: targets, timeout: .seconds(30)).run(plan)

            #expect(results.filter { $0.status == 201 }.count == 1)
            #expect(results.allSatisfy { $0.status != nil }, "every request answered: \(results.filter { $0.status == nil }.map { $0.error ?? "" })")
            #expect(results.allSatisfy { [201, 409, 503].contains($0.status ?? 0) }, "\(Set(results.map(\.status)))")
            #expect(Set(results.map(\.replica)) == [0, 1])

            let validation = try await DatabaseValidation.run(
                inventory: PostgresInventoryDatabase(pool: fixture.inventoryPool), bookings: PostgresBookingDatabase(pool: fixture.bookingPool),
                room: RoomID(1), night: Night(iso: "2026-03-15")!, expectedBookings: 1)
            #expect(validation.passed, "\(validation.checks.filter { !$0.passed })")
            #expect(try await fixture.available(night: "2026-03-16") == 0)
            #expect(try await fixture.bookingCount() == 1)
            #expect(try await fixture.lock.liveKeys(matching: "lock:*").isEmpty)
        }
    }

    // MARK: A backend that is down: 503 with a JSON error, nothing half-written

    @Test func redisDownGives503() async throws {
        var overrides = ServiceFixture.Overrides()
        overrides.redisURL = "redis://127.0.0.1:\(try TestServers.closedPort())"
        try await ServiceFixture.with(overrides) { fixture in
            let confirm = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON())
            #expect(confirm.status == 503)
            #expect(confirm.success == false)
            #expect(confirm.error?.contains("lock service") == true)
            // Which dependency failed and where the log has it; not the failure's own text.
            #expect(confirm.error?.contains("request id") == true, "\(confirm.raw)")
            #expect(confirm.error?.contains("127.0.0.1") == false, "\(confirm.raw)")
            let health = try await fixture.booking(.GET, "/health")
            #expect(health.status == 503)
            #expect(health.success == false)
            let dependencies = health.json["dependencies"] as? [String: String]
            #expect(dependencies?["redis"] != "ok")
            #expect(dependencies?["booking_db"] == "ok")
            try await fixture.expectNothingWritten()
        }
    }

    @Test func inventoryDatabaseDownGives503() async throws {
        var overrides = ServiceFixture.Overrides()
        overrides.inventoryDatabaseURL = "postgresql://overbook@127.0.0.1:\(try TestServers.closedPort())/inventory_db"
        try await ServiceFixture.with(overrides) { fixture in
            let rooms = try await fixture.inventory(.GET, "/rooms")
            #expect(rooms.status == 503)
            #expect(rooms.success == false)
            let health = try await fixture.inventory(.GET, "/health")
            #expect(health.status == 503)
            #expect((health.json["dependencies"] as? [String: String])?["inventory_db"] != "ok")
            // The booking service sees its inventory answer 503 and answers 503 too.
            let confirm = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON())
            #expect(confirm.status == 503)
            #expect(confirm.success == false)
            try await fixture.expectNothingWritten()
        }
    }

    @Test func inventoryServiceDownGives503() async throws {
        var overrides = ServiceFixture.Overrides()
        overrides.inventoryURL = "http://127.0.0.1:\(try TestServers.closedPort())/api"
        try await ServiceFixture.with(overrides) { fixture in
            let confirm = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON())
            #expect(confirm.status == 503)
            #expect(confirm.success == false)
            #expect(confirm.error?.contains("inventory service") == true)
            let health = try await fixture.booking(.GET, "/health")
            #expect(health.status == 503)
            #expect((health.json["dependencies"] as? [String: String])?["inventory"] != "ok")
            try await fixture.expectNothingWritten()
        }
    }

    @Test func bookingDatabaseDownGives503() async throws {
        var overrides = ServiceFixture.Overrides()
        overrides.bookingDatabaseURL = "postgresql://overbook@127.0.0.1:\(try TestServers.closedPort())/booking_db"
        try await ServiceFixture.with(overrides) { fixture in
            let confirm = try await fixture.booking(.POST, "/bookings/confirm", body: confirmJSON())
            #expect(confirm.status == 503)
            #expect(confirm.success == false)
            #expect(confirm.error?.contains("booking database") == true)
            let list = try await fixture.booking(.GET, "/bookings")
            #expect(list.status == 503)
            try await fixture.expectNothingWritten()
        }
    }
}

// MARK: Pure mapping (no server)

@Suite struct WireFormatTests {
    @Test func encodesTheSeedShapesWithSortedKeys() {
        let booking = Booking(id: BookingID(1), userID: UserID("user_1"), room: RoomID(1),
                              checkIn: Night(iso: "2026-03-15")!, checkOut: Night(iso: "2026-03-17")!)
        #expect(String(decoding: WireFormat.encode(.booking(booking)), as: UTF8.self)
                == #"{"booking":{"check_in":"2026-03-15","check_out":"2026-03-17","id":1,"room_id":1,"status":"confirmed","user_id":"user_1"},"success":true}"#)
        #expect(String(decoding: WireFormat.encode(.error("Room not available for the selected dates")), as: UTF8.self)
                == #"{"error":"Room not available for the selected dates","success":false}"#)
        let availability = AvailabilityBody(room: RoomID(1), date: Night(iso: "2026-03-15")!, availableQuantity: 0)
        #expect(String(decoding: WireFormat.encode(.availability(availability)), as: UTF8.self)
                == #"{"available":false,"available_quantity":0,"date":"2026-03-15","room_id":1,"success":true}"#)
    }

    @Test func decodesWhatItEncodes() throws {
        let rooms = RoomSpec.seedRooms.map(\.room)
        let decoded = try WireFormat.decode(status: 200, body: WireFormat.encode(.rooms(rooms)), expecting: .rooms)
        #expect(decoded == APIResponse(status: 200, body: .rooms(rooms)))
        let changed = ResponseBody.inventoryChanged(room: RoomID(2), nights: [Night(iso: "2026-03-15")!])
        #expect(try WireFormat.decode(status: 200, body: WireFormat.encode(changed), expecting: .inventoryChanged) == APIResponse(status: 200, body: changed))
        #expect(try WireFormat.decode(status: 409, body: WireFormat.encode(.error("no")), expecting: .booking) == .error(409, "no"))
    }

    /// A 503 that does not know whether its request took effect says so in the body, and the
    /// client reads it back as such: a plain 503 of a fixed variant means nothing was written.
    @Test func anUnknownOutcomeSurvivesTheWire() throws {
        let body = WireFormat.encode(.outcomeUnknown("booking database: connection lost"))
        #expect(String(decoding: body, as: UTF8.self) == #"{"error":"booking database: connection lost","outcome":"unknown","success":false}"#)
        let decoded = try WireFormat.decode(status: 503, body: body, expecting: .booking)
        #expect(decoded == .outcomeUnknown("booking database: connection lost"))
        #expect(decoded.saysOutcomeUnknown)
        #expect(!(try WireFormat.decode(status: 503, body: WireFormat.encode(.error("down")), expecting: .booking)).saysOutcomeUnknown)
    }

    @Test func malformedAnswersAreNetworkErrors() {
        #expect(throws: NetworkError.self) { try WireFormat.decode(status: 200, body: Data("<html>".utf8), expecting: .availability) }
    }
}
