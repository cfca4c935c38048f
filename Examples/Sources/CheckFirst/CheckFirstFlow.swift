import BookingCore

/// Checks availability before taking the lock, so that once the room is sold out the losers
/// answer 409 without queueing on the lock, then confirms as the seed does, with the
/// inventory's conditional decrement as the source of truth.
struct CheckFirstFlow: ConfirmFlow {
    static let summary = """
        The seed with an availability check before the lock (sold-out confirms never touch \
        Redis) and the atomic conditional decrement. Prevents oversold nights like atomic; \
        costs one more availability read per confirm that gets the lock.
        """

    var inventoryDecrement: InventoryService.Decrement { .conditionalUpdate }

    func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
        do {
            try await service.checkAvailability(request.stay)
        } catch {
            return error.response
        }
        // The seed's flow checks again under the lock: another confirm may have taken the last
        // room between the first check and the lock.
        return await SeedFlow().confirm(request, on: service)
    }
}

extension Variant {
    static let checkFirst = Variant(name: "check-first", flow: CheckFirstFlow())
}
