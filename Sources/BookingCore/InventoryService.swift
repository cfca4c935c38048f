/// The inventory service (port 5001), written once: the simulator runs it as its own process
/// behind the simulated network; real mode serves it over HTTP.
public struct InventoryService: Sendable {
    /// How reserve and release change `available_quantity`.
    public enum Decrement: String, Hashable, Sendable, Codable {
        /// The seed's ORM style: `SELECT` the quantity, check it, `UPDATE ... SET available_quantity = <value>`.
        /// Under READ COMMITTED two such transactions can both read 1 and both write 0 (lost update).
        case readModifyWrite = "read-modify-write"
        /// `UPDATE ... SET available_quantity = available_quantity - 1 WHERE ... AND available_quantity >= 1`:
        /// the row lock and PostgreSQL's re-check of the `WHERE` make it safe on its own.
        case conditionalUpdate = "conditional-update"
    }

    public let database: any InventoryDatabase
    public let decrement: Decrement
    /// The inventory's fault points (`AlgorithmPoint.isInventoryPoint`); `nil` reaches none, as
    /// a plain service and every scenario that aims no fault at them do.
    public let faults: (any FaultPoints)?

    public init(database: any InventoryDatabase, decrement: Decrement = .readModifyWrite, faults: (any FaultPoints)? = nil) {
        self.database = database
        self.decrement = decrement
        self.faults = faults
    }

    public func handle(_ request: InventoryRequest) async -> APIResponse {
        do {
            switch request {
            case .health:
                _ = try await database.rooms()
                return APIResponse(status: StatusCode.ok, body: .health(HealthBody(service: "inventory", status: "healthy", dependencies: ["inventory_db": "ok"])))
            case .listRooms:
                return APIResponse(status: StatusCode.ok, body: .rooms(try await database.rooms()))
            case .room(let id):
                guard let room = try await database.rooms().first(where: { $0.id == id }) else {
                    return .error(StatusCode.notFound, "room \(id) not found")
                }
                return APIResponse(status: StatusCode.ok, body: .room(room))
            case .availability(let room, let night):
                guard let quantity = try await database.availableQuantity(RoomNight(room: room, night: night)) else {
                    return .error(StatusCode.notFound, "no availability record for room \(room) on \(night)")
                }
                await faults?.reached(.inventoryAfterRead)
                return APIResponse(status: StatusCode.ok, body: .availability(AvailabilityBody(room: room, date: night, availableQuantity: quantity)))
            case .reserve(let room, let body):
                return try await change(room: room, body: body, by: -body.quantity)
            case .release(let room, let body):
                return try await change(room: room, body: body, by: body.quantity)
            }
        } catch {
            return .error(StatusCode.serviceUnavailable, "inventory database: \(error)")
        }
    }

    /// One transaction over every night of the stay; any night short of rooms rolls all back.
    private func change(room: RoomID, body: ReserveBody, by delta: Int) async throws(StoreError) -> APIResponse {
        guard let stay = Stay(room: room, checkIn: body.checkIn, checkOut: body.checkOut) else {
            return .error(StatusCode.badRequest, "check_out must be after check_in")
        }
        guard body.quantity > 0 else {
            return .error(StatusCode.badRequest, "quantity must be positive")
        }
        let transaction = try await database.begin()
        do throws(StoreError) {
            if let refusal = try await guardRequest(body, stay: stay, reserving: delta < 0, in: transaction) {
                await transaction.rollback()
                return refusal
            }
            for night in stay.nights {
                let key = RoomNight(room: room, night: night)
                if let refusal = try await apply(delta, to: key, in: transaction) {
                    await transaction.rollback()
                    return refusal
                }
            }
            await faults?.reached(.inventoryBeforeCommit)
            try await transaction.commit()
        } catch {
            await transaction.rollback()
            throw error
        }
        return APIResponse(status: StatusCode.ok, body: .inventoryChanged(room: room, nights: stay.nights))
    }

    /// The fixed variants' checks before any night changes: a stale fencing token is refused;
    /// a request id already reserved (or already released) is answered without changing twice.
    private func guardRequest(_ body: ReserveBody, stay: Stay, reserving: Bool,
                              in transaction: any InventoryTransaction) async throws(StoreError) -> APIResponse? {
        if let token = body.fencingToken, let key = body.fenceKey, !(try await transaction.advanceFence(key, to: token)) {
            return .error(StatusCode.conflict, "stale fencing token \(token) for \(key): a newer lock holder already wrote")
        }
        guard let requestID = body.requestID else { return nil }
        let firstTime = reserving
            ? try await transaction.recordReservation(requestID, stay: stay)
            : try await transaction.removeReservation(requestID)
        return firstTime ? nil : APIResponse(status: StatusCode.ok, body: .inventoryChanged(room: stay.room, nights: stay.nights))
    }

    /// Applies one night's change; a non-nil answer refuses the whole request.
    private func apply(_ delta: Int, to key: RoomNight, in transaction: any InventoryTransaction) async throws(StoreError) -> APIResponse? {
        switch (decrement, delta < 0) {
        case (.conditionalUpdate, true):
            await faults?.reached(.inventoryBeforeWrite)
            if try await transaction.decrementIfAvailable(key, by: -delta) { return nil }
            return try await transaction.availableQuantity(key) == nil
                ? .error(StatusCode.notFound, "no availability record for \(key)")
                : .error(StatusCode.conflict, "not enough availability for \(key)")
        case (.conditionalUpdate, false):
            await faults?.reached(.inventoryBeforeWrite)
            return try await transaction.increment(key, by: delta) == 0
                ? .error(StatusCode.notFound, "no availability record for \(key)") : nil
        case (.readModifyWrite, _):
            guard let current = try await transaction.availableQuantity(key) else {
                return .error(StatusCode.notFound, "no availability record for \(key)")
            }
            await faults?.reached(.inventoryAfterRead)
            if current + delta < 0 {
                return .error(StatusCode.conflict, "not enough availability for \(key)")
            }
            await faults?.reached(.inventoryBeforeWrite)
            _ = try await transaction.setAvailableQuantity(key, to: current + delta)
            return nil
        }
    }
}
