/// The booking service (port 5002), written once: the simulator runs it inside each simulated
/// booking replica and real mode serves it over HTTP.

/// The seed's lock policy: `SET NX EX 10`, 3 attempts with backoff 0.1 s, 0.2 s, 0.4 s.
public struct LockPolicy: Hashable, Sendable {
    public var ttl: Duration
    /// One pause after each failed attempt; the number of attempts is `backoff.count`.
    public var backoff: [Duration]

    public init(ttl: Duration, backoff: [Duration]) {
        self.ttl = ttl
        self.backoff = backoff
    }

    public static let seed = LockPolicy(ttl: .seconds(10), backoff: [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
}

public struct BookingConfiguration: Hashable, Sendable {
    public var variant: Variant
    public var lock: LockPolicy
    /// How long the booking service waits for the inventory service (the seed's `requests` timeout).
    public var inventoryTimeout: Duration

    public init(variant: Variant = .seed, lock: LockPolicy = .seed, inventoryTimeout: Duration = .seconds(5)) {
        self.variant = variant
        self.lock = lock
        self.inventoryTimeout = inventoryTimeout
    }
}

public struct BookingService<C: Clock<Duration>>: Sendable {
    public let clock: C
    public let lock: any LockService
    public let database: any BookingDatabase
    public let inventory: any RemoteService<InventoryRequest>
    public let ids: any IdentifierSource
    public let faults: any FaultPoints
    public let configuration: BookingConfiguration
    let background: (any BackgroundWork)?
    let recovery = RecoveryGate()

    public init(clock: C, lock: any LockService, database: any BookingDatabase,
                inventory: any RemoteService<InventoryRequest>, ids: any IdentifierSource,
                faults: any FaultPoints = NoFaultPoints(), configuration: BookingConfiguration = BookingConfiguration(),
                background: (any BackgroundWork)? = nil) {
        self.clock = clock
        self.lock = lock
        self.database = database
        self.inventory = inventory
        self.ids = ids
        self.faults = faults
        self.configuration = configuration
        self.background = background
    }

    /// The seed's 503 body when every lock attempt failed.
    public static var lockExhaustedMessage: String { "Could not acquire lock, please retry" }

    public func handle(_ request: BookingRequest) async -> APIResponse {
        switch request {
        case .health:
            return await health()
        case .confirm(let body):
            guard let stay = Stay(room: body.room, checkIn: body.checkIn, checkOut: body.checkOut) else {
                return .error(StatusCode.badRequest, "check_out must be after check_in")
            }
            return await configuration.variant.flow.confirm(ConfirmRequest(userID: body.userID, stay: stay, requestID: body.requestID), on: self)
        case .booking(let id):
            return await answer { () async throws(StoreError) in
                guard let booking = try await database.booking(id: id) else {
                    return .error(StatusCode.notFound, "booking \(id) not found")
                }
                return APIResponse(status: StatusCode.ok, body: .booking(booking))
            }
        case .userBookings(let user):
            return await answer { () async throws(StoreError) in
                APIResponse(status: StatusCode.ok, body: .bookings(try await database.bookings(userID: user)))
            }
        case .allBookings:
            return await answer { () async throws(StoreError) in
                APIResponse(status: StatusCode.ok, body: .bookings(try await database.allBookings()))
            }
        }
    }

    private func answer(_ body: () async throws(StoreError) -> APIResponse) async -> APIResponse {
        do {
            return try await body()
        } catch {
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
    }

    private func health() async -> APIResponse {
        var dependencies: [String: String] = [:]
        do { _ = try await database.allBookings(); dependencies["booking_db"] = "ok" } catch { dependencies["booking_db"] = "\(error)" }
        do { _ = try await lock.holder(of: "health:probe"); dependencies["redis"] = "ok" } catch { dependencies["redis"] = "\(error)" }
        do {
            let answer = try await inventory.call(.health, timeout: configuration.inventoryTimeout)
            dependencies["inventory"] = answer.isSuccess ? "ok" : "status \(answer.status)"
        } catch {
            dependencies["inventory"] = "\(error)"
        }
        let healthy = dependencies.values.allSatisfy { $0 == "ok" }
        return APIResponse(status: healthy ? StatusCode.ok : StatusCode.serviceUnavailable,
                           body: .health(HealthBody(service: "booking", status: healthy ? "healthy" : "degraded", dependencies: dependencies)))
    }
}
