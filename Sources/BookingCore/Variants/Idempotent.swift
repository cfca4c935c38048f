/// Keeps the client's request id and makes every answer final for it: a retry is answered from
/// the row its first attempt left (before the lock, and again when the unique request id
/// refuses its insert); a refusal or a give-up is recorded as the request's row before it is
/// sent (`settle`), so a retry that overlaps its first attempt still gets the first attempt's
/// answer and a `503` means nothing was written, then or later; and the inventory records each
/// reservation by request id (`ReserveBody.requestID`).
struct IdempotentFix: FixPiece {
    let summary = """
        A request id makes a retry idempotent: the booking insert is unique per request id, a \
        refusal or give-up is recorded under the id before it is answered, and the inventory \
        records each reservation by request id, so a client's retry, even one that overlaps its \
        first attempt, gets the first answer instead of a second booking or a false 409, and a \
        503 means nothing was written. Costs a lookup per confirm, an insert per refusal and a \
        reservations row.
        """

    func beforeLock<C: Clock<Duration>>(_ attempt: inout ConfirmAttempt, on service: BookingService<C>) async -> APIResponse? {
        guard let requestID = attempt.request.requestID else { return nil }
        attempt.requestID = requestID
        return await service.earlierAnswer(to: requestID)
    }

    func answering<C: Clock<Duration>>(_ answer: APIResponse, to attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse {
        await service.settle(answer, of: attempt)
    }
}
