import AsyncHTTPClient
import Backends
import BookingCore
import Foundation
import NIOCore
import NIOHTTP1
import Services
import Testing

/// The servers the service tests run against. `make test` (scripts/with-servers.sh) starts a
/// throwaway Redis and PostgreSQL and exports both variables; a missing one fails the test,
/// never skips it, so a green run always means the real servers were exercised.
enum TestServers {
    struct Missing: Error, CustomStringConvertible {
        let variable: String
        let example: String
        var description: String {
            "\(variable) is not set. Run `make test` or `scripts/with-servers.sh swift test`, which start throwaway Redis and PostgreSQL servers and set it; or export it yourself (e.g. \(variable)=\(example))."
        }
    }

    static func value(_ variable: String, example: String) throws -> String {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            throw Missing(variable: variable, example: example)
        }
        return url
    }

    /// The test Redis, logical database 9: the algorithm's keys (`lock:room:1:...`) are fixed,
    /// so this suite keeps them apart from other suites' keys in database 0.
    static func redisURL() throws -> String {
        let base = try value("OVERBOOK_TEST_REDIS_URL", example: "redis://127.0.0.1:6390")
        let configuration = try RedisConfiguration(url: base)
        return "redis://\(configuration.host):\(configuration.port)/9"
    }

    static func postgresURL() throws -> String {
        try value("OVERBOOK_TEST_POSTGRES_URL", example: "postgresql://overbook@127.0.0.1:5440/postgres")
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    }

    /// A URL on which nothing listens: a port that was just bound and released.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// An answer as a client sees it: status, headers and the JSON object.
struct HTTPAnswer {
    let status: Int
    let headers: HTTPHeaders
    let json: [String: Any]
    let raw: String

    var success: Bool? { json["success"] as? Bool }
    var error: String? { json["error"] as? String }
}

/// Both services on fresh databases (`inventory_db` and `booking_db` of their own, seeded as the
/// seed's `init_db.py` does), in this process, on free ports; dropped afterwards.
struct ServiceFixture {
    let inventoryPool: PostgresPool
    let bookingPool: PostgresPool
    let lock: RedisLockService
    let inventory: RunningServer
    let bookings: [RunningServer]
    let client: HTTPClient

    var inventoryURL: String { inventory.baseURL }
    var bookingURL: String { bookings[0].baseURL }

    static let seed = Scenario.seedExperiment()

    struct Overrides {
        var redisURL: String?
        var inventoryDatabaseURL: String?
        var bookingDatabaseURL: String?
        var inventoryURL: String?
        var replicas = 1
        /// Serves `/_overbook/faults` on every service, as `overbook serve --fault-control`.
        var faultControl = false
    }

    /// Runs `body` against the fixture, then stops the servers and drops the databases.
    static func with<T>(_ overrides: Overrides = Overrides(), _ body: (ServiceFixture) async throws -> T) async throws -> T {
        let serverURL = try TestServers.postgresURL()
        let redisURL = try TestServers.redisURL()
        let admin = try PostgresPool(url: serverURL, poolSize: 1)
        let inventoryName = TestServers.uniqueName("svc_inventory")
        let bookingName = TestServers.uniqueName("svc_booking")
        try await PostgresAdmin.createDatabase(named: inventoryName, on: admin)
        try await PostgresAdmin.createDatabase(named: bookingName, on: admin)
        let inventoryDatabaseURL = try databaseURL(serverURL, inventoryName)
        let bookingDatabaseURL = try databaseURL(serverURL, bookingName)
        let inventoryPool = try PostgresPool(url: inventoryDatabaseURL, poolSize: 2)
        let bookingPool = try PostgresPool(url: bookingDatabaseURL, poolSize: 2)
        let lock = try RedisLockService(url: redisURL, connections: 1)
        let client = ServiceInstance.makeHTTPClient(connections: 64)
        var servers: [RunningServer] = []
        do {
            try await InventorySchema.migrate(inventoryPool)
            try await InventorySchema.seed(inventoryPool, rooms: seed.rooms, nights: seed.inventoryNights)
            try await BookingSchema.migrate(bookingPool)
            try await lock.delete(try await lock.liveKeys(matching: "lock:*").map(\.key))

            let inventory = try await ServiceInstance.inventory(
                InventoryServerOptions(databaseURL: overrides.inventoryDatabaseURL ?? inventoryDatabaseURL, poolSize: 4,
                                       faultControl: overrides.faultControl ? .inventory() : nil)
            ).start()
            servers.append(inventory)
            var bookings: [RunningServer] = []
            for _ in 0..<overrides.replicas {
                let booking = try await ServiceInstance.booking(BookingServerOptions(
                    databaseURL: overrides.bookingDatabaseURL ?? bookingDatabaseURL, redisURL: overrides.redisURL ?? redisURL,
                    inventoryURL: overrides.inventoryURL ?? inventory.baseURL, poolSize: 4, redisConnections: 4,
                    faultControl: overrides.faultControl ? .booking() : nil)).start()
                servers.append(booking)
                bookings.append(booking)
            }
            let fixture = ServiceFixture(inventoryPool: inventoryPool, bookingPool: bookingPool, lock: lock,
                                         inventory: inventory, bookings: bookings, client: client)
            let value = try await body(fixture)
            await tearDown()
            return value
        } catch {
            await tearDown()
            throw error
        }

        func tearDown() async {
            for server in servers { await server.stop() }
            try? await client.shutdown()
            await lock.close()
            await inventoryPool.close()
            await bookingPool.close()
            try? await PostgresAdmin.dropDatabase(named: inventoryName, on: admin)
            try? await PostgresAdmin.dropDatabase(named: bookingName, on: admin)
            await admin.close()
        }
    }

    static func databaseURL(_ serverURL: String, _ name: String) throws -> String {
        guard let slash = serverURL.range(of: "/", options: .backwards), serverURL[..<slash.lowerBound].contains("@") || serverURL.contains("://") else {
            throw TestServers.Missing(variable: "OVERBOOK_TEST_POSTGRES_URL", example: "postgresql://overbook@127.0.0.1:5440/postgres")
        }
        return String(serverURL[..<slash.upperBound]) + name
    }

    // MARK: Requests

    func request(_ method: HTTPMethod, _ url: String, body: String? = nil, bytes: [UInt8]? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        // As the driver's own client sends it (`HTTPRemoteService`), for a fault-controlled service.
        if let origin = FaultOrigin.label { request.headers.add(name: FaultOrigin.header, value: origin) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        } else if let bytes {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: bytes))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let raw = String(buffer: data)
        let json = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] ?? [:]
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, json: json, raw: raw)
    }

    func inventory(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> HTTPAnswer {
        try await request(method, inventoryURL + path, body: body)
    }

    func booking(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> HTTPAnswer {
        try await request(method, bookingURL + path, body: body)
    }

    // MARK: State

    func bookingCount() async throws -> Int {
        try await bookingPool.execute("SELECT count(*) FROM bookings").int(row: 0, column: 0)
    }

    func available(room: Int = 1, night: String = "2026-03-15") async throws -> Int {
        try await PostgresInventoryDatabase(pool: inventoryPool).availableQuantity(RoomNight(room: RoomID(room), night: Night(iso: night)!))!
    }

    /// Every availability row at capacity, no booking, no lock key: what a refused request must
    /// leave behind.
    func expectNothingWritten(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(try await bookingCount() == 0, comment, sourceLocation: sourceLocation)
        let changed = try await inventoryPool.execute(
            "SELECT count(*) FROM availability a JOIN rooms r ON r.id = a.room_id WHERE a.available_quantity <> r.total_quantity")
        #expect(try changed.int(row: 0, column: 0) == 0, comment, sourceLocation: sourceLocation)
        #expect(try await lock.liveKeys(matching: "lock:*").isEmpty, comment, sourceLocation: sourceLocation)
    }
}

/// `{"user_id","room_id","check_in","check_out"}` for the seed's stay.
func confirmJSON(user: String = "user_1", room: Int = 1, checkIn: String = "2026-03-15", checkOut: String = "2026-03-17") -> String {
    #"{"user_id": "\#(user)", "room_id": \#(room), "check_in": "\#(checkIn)", "check_out": "\#(checkOut)"}"#
}
