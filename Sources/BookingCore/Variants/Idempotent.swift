/// Keeps the client's request id: a retry is answered from the booking its first attempt left
/// (before the lock, and again when the unique request id refuses its insert), and the
/// inventory records each reservation by request id (`ReserveBody.requestID`).
struct IdempotentFix: FixPiece {
    let summary = """
        A request id makes a retry idempotent: the booking insert is unique per request id and \
        the inventory records each reservation by request id, so a client's retry after a \
        timeout gets the first answer instead of a second booking. Costs a lookup per confirm \
        and a reservations row.
        """

    func beforeLock<C: Clock<Duration>>(_ attempt: inout ConfirmAttempt, on service: BookingService<C>) async -> APIResponse? {
        guard let requestID = attempt.request.requestID else { return nil }
        attempt.requestID = requestID
        return await service.earlierAnswer(to: requestID)
    }
}
