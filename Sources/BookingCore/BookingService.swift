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

/// One design fix to the seed algorithm. Fixes combine (`atomic+idempotent+crash-safe`); the
/// empty combination is the seed itself.
public enum Fix: String, Hashable, Sendable, CaseIterable, Codable, Comparable {
    /// A fencing token (`INCR` of a Redis counter taken with the lock) that both databases check
    /// and advance: a holder whose lock expired (a pause past the TTL) has its writes refused
    /// once a newer holder wrote. Prevents the lock-expiry double booking. Costs one Redis round
    /// trip and a row-locked fence update per database per confirm; does nothing for stays that
    /// take different lock keys.
    case fenced
    /// The inventory decrement is `UPDATE ... WHERE available_quantity >= 1`, the source of
    /// truth: no read-modify-write, so no lost update and no oversold night whatever the lock
    /// does (the lock only spares the database contention). Prevents every double booking,
    /// including overlapping stays with different check-ins. Costs nothing measurable.
    case atomic
    /// A request id makes a retry idempotent: the booking insert is unique per request id and
    /// the inventory records each reservation by request id, so a client's retry after a
    /// timeout gets the first answer instead of a second booking. Costs a lookup per confirm
    /// and a reservations row.
    case idempotent
    /// A saga across the two databases: insert the booking as `pending`, reserve (idempotent,
    /// atomic), then mark it `confirmed` or `cancelled`; a recovery worker on every replica
    /// (after a restart, and whenever a saga could not finish) re-drives pending bookings until
    /// each is resolved, so the databases agree at quiescence whatever crashed. Implies
    /// `atomic` and `idempotent`. Costs two more statements per confirm and a worker.
    case crashSafe = "crash-safe"

    public static func < (a: Fix, b: Fix) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// The algorithm variant a scenario names: the seed, or the seed with a set of fixes.
public struct Variant: Hashable, Sendable, CustomStringConvertible {
    public let fixes: Set<Fix>

    public init(fixes: Set<Fix>) {
        // crash-safe is built on atomic, idempotent reservations.
        self.fixes = fixes.contains(.crashSafe) ? fixes.union([.atomic, .idempotent]) : fixes
    }

    /// The seed experiment's algorithm, kept faithfully, flaws included: a TTL lock without
    /// fencing, two databases with no transaction across them, a lock on the check-in night
    /// only, and an inventory that decrements by read-modify-write.
    public static let seed = Variant(fixes: [])

    public func has(_ fix: Fix) -> Bool { fixes.contains(fix) }

    /// `seed`, or the fixes joined by `+` in a fixed order (`atomic+idempotent`).
    public var rawValue: String {
        fixes.isEmpty ? "seed" : fixes.sorted().map(\.rawValue).joined(separator: "+")
    }

    public var description: String { rawValue }

    /// Parses `seed` or `fix+fix+...`.
    public init?(rawValue: String) {
        if rawValue == "seed" {
            self = .seed
            return
        }
        var fixes: Set<Fix> = []
        for part in rawValue.split(separator: "+", omittingEmptySubsequences: false) {
            guard let fix = Fix(rawValue: String(part)) else { return nil }
            fixes.insert(fix)
        }
        self.init(fixes: fixes)
    }

    /// The variants the matrix compares: the seed, each fix alone, and all of them.
    public static let allCases: [Variant] =
        [.seed] + Fix.allCases.map { Variant(fixes: [$0]) } + [Variant(fixes: Set(Fix.allCases))]
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
            if configuration.variant == .seed {
                return await confirmSeed(userID: body.userID, stay: stay, requestID: body.requestID)
            }
            return await confirmFixed(userID: body.userID, stay: stay, requestID: body.requestID)
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

    /// The seed algorithm, step by step as the experiment's README gives it:
    /// lock `lock:room:{room}:{check_in}` with `SET NX EX 10` (3 attempts, backoff 0.1/0.2/0.4 s,
    /// then 503); ask the inventory service for availability; insert the booking; decrement the
    /// inventory through the inventory service; commit; release with compare-and-delete; 201.
    /// Not available: release and 409.
    func confirmSeed(userID: UserID, stay: Stay, requestID: RequestID?) async -> APIResponse {
        let key = "lock:room:\(stay.room):\(stay.checkIn)"
        let token = ids.lockToken()
        var acquired = false
        for pause in configuration.lock.backoff {
            do {
                if try await lock.acquire(key: key, token: token, ttl: configuration.lock.ttl) {
                    acquired = true
                    break
                }
            } catch {
                return .error(StatusCode.serviceUnavailable, "could not reach the lock service: \(error)")
            }
            try? await clock.sleep(for: pause)
        }
        guard acquired else {
            return .error(StatusCode.serviceUnavailable, Self.lockExhaustedMessage)
        }
        await faults.reached(.lockAcquired)
        // The seed's bookings table has no request id: a retried request books again.
        let outcome = await bookWhileLocked(userID: userID, stay: stay, requestID: nil)
        await faults.reached(.beforeRelease)
        // The seed ignores whether the compare-and-delete found its own token.
        _ = try? await lock.release(key: key, token: token)
        return outcome
    }

    private func bookWhileLocked(userID: UserID, stay: Stay, requestID: RequestID?) async -> APIResponse {
        if let refusal = await availabilityRefusal(stay) { return refusal }
        let transaction: any BookingTransaction
        do {
            transaction = try await database.begin()
        } catch {
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
        await faults.reached(.beforeInsert)
        let booking: Booking
        do {
            booking = try await transaction.insert(NewBooking(userID: userID, stay: stay, requestID: requestID))
        } catch {
            await transaction.rollback()
            return .error(StatusCode.internalError, "booking database: \(error)")
        }
        await faults.reached(.beforeDecrement)
        let reserve: APIResponse
        do {
            reserve = try await inventory.call(.reserve(stay.room, ReserveBody(checkIn: stay.checkIn, checkOut: stay.checkOut, requestID: requestID)),
                                               timeout: configuration.inventoryTimeout)
        } catch {
            // The reserve may have happened (reply lost): the seed does not find out.
            await transaction.rollback()
            return .error(StatusCode.serviceUnavailable, "inventory service: \(error)")
        }
        guard reserve.isSuccess else {
            await transaction.rollback()
            return reserve.status == StatusCode.conflict
                ? .error(StatusCode.conflict, "Room not available for the selected dates")
                : .error(StatusCode.serviceUnavailable, "inventory service answered \(reserve.status)")
        }
        await faults.reached(.beforeCommit)
        do {
            try await transaction.commit()
        } catch {
            // The inventory was already decremented: the seed leaves the two databases apart.
            return .error(StatusCode.internalError, "booking database: \(error)")
        }
        await faults.reached(.afterCommit)
        return APIResponse(status: StatusCode.created, body: .booking(booking))
    }
}
