/// The seed experiment's confirm, step by step as its README gives it, flaws included: a TTL
/// lock without fencing, two databases with no transaction across them, a lock on the check-in
/// night only, and an inventory that decrements by read-modify-write.
///
/// 1. Lock `lock:room:{room_id}:{check_in}` with `SET key <uuid> NX EX 10`: 3 attempts with
///    backoff 0.1 s, 0.2 s, 0.4 s, then 503.
/// 2. Ask the inventory service for availability; not available: release and 409.
/// 3. Insert the booking, decrement the inventory through the inventory service, commit.
/// 4. Release the lock with the compare-and-delete Lua script; 201.
public struct SeedFlow: ConfirmFlow {
    public init() {}

    public static let summary = """
        The seed experiment's algorithm, kept faithfully: a Redis lock (SET NX EX 10, 3 attempts) \
        on the check-in night, an availability check, then insert, decrement by read-modify-write \
        and commit across two databases with no transaction spanning them. Prevents double \
        booking only while the lock holds and nothing fails; a pause past the TTL, a lost reply, \
        a crash between the databases or a client's retry each break it.
        """

    public func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
        // The seed's bookings table has no request id: a retried request books again.
        let attempt = ConfirmAttempt(request)
        let lock: HeldLock
        do {
            lock = try await service.takeLock(for: attempt.stay, ifUnreachable: .giveUp)
        } catch {
            return error.response
        }
        await service.faults.reached(.lockAcquired)
        let outcome = await service.outcome { () async throws(EarlyAnswer) in
            try await service.checkAvailability(attempt.stay)
            return try await Self.bookInOneTransaction(attempt, on: service, ifReserveUnanswered: .unavailable)
        }
        await service.faults.reached(.beforeRelease)
        await service.release(lock)
        return outcome
    }

    /// The seed's booking transaction, held open across the inventory's decrement: insert,
    /// reserve, commit. A commit that fails after the reserve leaves the two databases apart.
    public static func bookInOneTransaction<C>(_ attempt: ConfirmAttempt, on service: BookingService<C>,
                                               ifReserveUnanswered unanswered: UnansweredReserve) async throws(EarlyAnswer) -> APIResponse {
        let transaction = try await service.beginBooking()
        await service.faults.reached(.beforeInsert)
        let booking = try await service.insert(attempt, in: transaction)
        await service.faults.reached(.beforeDecrement)
        try await service.reserve(attempt, holding: transaction, ifUnanswered: unanswered)
        await service.faults.reached(.beforeCommit)
        try await service.commit(transaction)
        await service.faults.reached(.afterCommit)
        return APIResponse(status: StatusCode.created, body: .booking(booking))
    }
}
