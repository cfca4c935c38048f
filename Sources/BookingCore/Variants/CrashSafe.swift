/// Writes the booking as a saga (`SagaSteps.swift`) and runs the recovery worker on every
/// replica. `Variant(fixes:)` adds `atomic` and `idempotent`, which it is built on.
struct CrashSafeFix: FixPiece {
    let summary = """
        A saga across the two databases: insert the booking as pending, reserve (idempotent, \
        atomic), then mark it confirmed or cancelled; a recovery worker on every replica (after \
        a restart, and whenever a saga could not finish) re-drives pending bookings until each \
        is resolved, so the databases agree at quiescence whatever crashed. Implies atomic and \
        idempotent. Costs two more statements per confirm and a worker.
        """

    /// A confirm without a request id cannot be re-driven: it keeps the seed's transaction.
    func write<C: Clock<Duration>>(_ attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse? {
        guard attempt.requestID != nil else { return nil }
        return await service.bookAsSaga(attempt)
    }

    var resolvesPendingBookings: Bool { true }
}
