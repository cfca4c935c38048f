/// A fencing token (`INCR` of a Redis counter taken with the lock) that both databases check
/// and advance: the booking insert advances the booking database's fence, the reserve carries
/// the token to the inventory's (`ConfirmAttempt.fence`).
struct FencedFix: FixPiece {
    let summary = """
        A fencing token (INCR of a Redis counter taken with the lock) that both databases check \
        and advance: a holder whose lock expired (a pause past the TTL) has its writes refused \
        once a newer holder wrote. Prevents the lock-expiry double booking. Costs one Redis round \
        trip and a row-locked fence update per database per confirm; does nothing for stays that \
        take different lock keys.
        """

    func lockHeld<C: Clock<Duration>>(_ lock: HeldLock, _ attempt: inout ConfirmAttempt,
                                      on service: BookingService<C>) async throws(EarlyAnswer) {
        attempt.fence = try await service.takeFencingToken(for: lock)
    }
}
