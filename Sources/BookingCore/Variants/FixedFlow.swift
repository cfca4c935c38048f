/// One fix's steps, each hooked in where the seed's flow leaves room for it (`FixedFlow`). A
/// hook a fix does not implement keeps the seed's behaviour at that point.
public protocol FixPiece: Sendable {
    /// What the fix prevents and what it costs.
    var summary: String { get }
    /// Before the lock is taken; an answer here ends the confirm without the lock.
    func beforeLock<C: Clock<Duration>>(_ attempt: inout ConfirmAttempt, on service: BookingService<C>) async -> APIResponse?
    /// With the lock held, before availability is checked; an early answer releases the lock.
    func lockHeld<C: Clock<Duration>>(_ lock: HeldLock, _ attempt: inout ConfirmAttempt,
                                      on service: BookingService<C>) async throws(EarlyAnswer)
    /// Writes the booking its own way once every night had a room; `nil` keeps the seed's
    /// booking transaction.
    func write<C: Clock<Duration>>(_ attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse?
    /// The answer about to be sent, once the lock is released; may replace it (`settle`).
    func answering<C: Clock<Duration>>(_ answer: APIResponse, to attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse
    var inventoryDecrement: InventoryService.Decrement? { get }
    var resolvesPendingBookings: Bool { get }
}

extension FixPiece {
    public func beforeLock<C: Clock<Duration>>(_ attempt: inout ConfirmAttempt, on service: BookingService<C>) async -> APIResponse? { nil }
    public func lockHeld<C: Clock<Duration>>(_ lock: HeldLock, _ attempt: inout ConfirmAttempt,
                                             on service: BookingService<C>) async throws(EarlyAnswer) {}
    public func write<C: Clock<Duration>>(_ attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse? { nil }
    public func answering<C: Clock<Duration>>(_ answer: APIResponse, to attempt: ConfirmAttempt,
                                              on service: BookingService<C>) async -> APIResponse { answer }
    public var inventoryDecrement: InventoryService.Decrement? { nil }
    public var resolvesPendingBookings: Bool { false }
}

/// The seed's flow with fixes applied, each at its hook, in the order given. Every fixed
/// variant also takes back a lock whose `SET` may have landed after the lock service stopped
/// answering, which the seed leaves held for a whole TTL, and answers `503` only when nothing
/// was written for the request: where the steps cannot tell whether the request took effect
/// (a reserve without a definite answer, a failed commit, a request-id lookup that failed) they
/// answer `500`, which it sends as `503` with `"outcome": "unknown"`; and a give-up is recorded
/// under the request id (`IdempotentFix`).
public struct FixedFlow: ConfirmFlow {
    public let pieces: [any FixPiece]
    /// `false`: no Redis lock at all; the pieces' own writes are the only serialization (see
    /// `lockFree`). No `lockHeld` hook runs then.
    public let takesLock: Bool

    public init(pieces: [any FixPiece], takesLock: Bool = true) {
        self.pieces = pieces
        self.takesLock = takesLock
    }

    public func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
        Self.unknownOutcomeAsUnavailable(await stepsAnswer(request, on: service))
    }

    private func stepsAnswer<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
        var attempt = ConfirmAttempt(request)
        for piece in pieces {
            if let answer = await piece.beforeLock(&attempt, on: service) { return answer }
        }
        var answer = takesLock ? await confirmWithLock(attempt, on: service) : await write(attempt, on: service)
        for piece in pieces { answer = await piece.answering(answer, to: attempt, on: service) }
        return answer
    }

    /// A step's `500` says that whether the request took effect is unknown. Clients of a
    /// service get `503` for a dependency that failed; this one says `"outcome": "unknown"`
    /// beside it, so that a `503` without it still means nothing was written (the history
    /// check holds the fixed variants to that), and a client knows to retry with the same id.
    /// Done once the pieces have answered: `settle` records only definite give-ups.
    static func unknownOutcomeAsUnavailable(_ answer: APIResponse) -> APIResponse {
        guard answer.status == StatusCode.internalError, case .error(let message) = answer.body else { return answer }
        return .outcomeUnknown(message)
    }

    private func confirmWithLock<C: Clock<Duration>>(_ attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse {
        var attempt = attempt
        let lock: HeldLock
        do {
            lock = try await service.takeLock(for: attempt.stay, ifUnreachable: .releaseThenGiveUp)
        } catch {
            return error.response
        }
        await service.faults.reached(.lockAcquired)
        do throws(EarlyAnswer) {
            for piece in pieces { try await piece.lockHeld(lock, &attempt, on: service) }
        } catch {
            await service.release(lock)
            return error.response
        }
        let outcome = await write(attempt, on: service)
        await service.faults.reached(.beforeRelease)
        await service.release(lock)
        return outcome
    }

    /// Availability checked, then the booking written by the first piece that writes its own
    /// way, or by the seed's transaction.
    private func write<C: Clock<Duration>>(_ attempt: ConfirmAttempt, on service: BookingService<C>) async -> APIResponse {
        await service.outcome { () async throws(EarlyAnswer) in
            try await service.checkAvailability(attempt.stay)
            for piece in pieces {
                if let written = await piece.write(attempt, on: service) { return written }
            }
            return try await SeedFlow.bookInOneTransaction(attempt, on: service, ifReserveUnanswered: .unknown)
        }
    }

    /// No Redis lock at all: the crash-safe saga (idempotent, atomic) is the only serialization.
    public static let lockFree = FixedFlow(pieces: [Fix.atomic, .idempotent, .crashSafe].map(\.piece), takesLock: false)

    public static let lockFreeSummary = """
        The crash-safe saga with no Redis lock at all: the inventory's conditional decrement \
        (UPDATE ... WHERE available_quantity >= 1) decides who gets the last night, the request \
        ids make a retry book once, the recovery worker finishes what a crash left pending. \
        Everyone who comes for a sold-out room is answered 409 at once (after the availability \
        check, or by the decrement itself) instead of sleeping through the lock's back-off and \
        answering 503. Prevents what crash-safe prevents, with no lock to expire, fail over or \
        jump; costs contention on the availability row (every confirm reaches the inventory).
        """

    public var inventoryDecrement: InventoryService.Decrement {
        pieces.lazy.compactMap(\.inventoryDecrement).first ?? .readModifyWrite
    }

    public var resolvesPendingBookings: Bool { pieces.contains { $0.resolvesPendingBookings } }

    public var unavailableMeans: UnavailableMeaning { .noEffect }
}
