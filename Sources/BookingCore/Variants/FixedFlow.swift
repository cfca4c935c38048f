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
/// was written for the request: a reserve without a definite answer is a `500` (unknown), a
/// failed commit too, and a give-up is recorded under the request id (`IdempotentFix`).
public struct FixedFlow: ConfirmFlow {
    public let pieces: [any FixPiece]

    public init(pieces: [any FixPiece]) {
        self.pieces = pieces
    }

    public func confirm<C: Clock<Duration>>(_ request: ConfirmRequest, on service: BookingService<C>) async -> APIResponse {
        var attempt = ConfirmAttempt(request)
        for piece in pieces {
            if let answer = await piece.beforeLock(&attempt, on: service) { return answer }
        }
        var answer = await confirmWithLock(attempt, on: service)
        for piece in pieces { answer = await piece.answering(answer, to: attempt, on: service) }
        return answer
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
        let held = attempt
        let outcome = await service.outcome { () async throws(EarlyAnswer) in
            try await service.checkAvailability(held.stay)
            for piece in pieces {
                if let written = await piece.write(held, on: service) { return written }
            }
            return try await SeedFlow.bookInOneTransaction(held, on: service, ifReserveUnanswered: .unknown)
        }
        await service.faults.reached(.beforeRelease)
        await service.release(lock)
        return outcome
    }

    public var inventoryDecrement: InventoryService.Decrement {
        pieces.lazy.compactMap(\.inventoryDecrement).first ?? .readModifyWrite
    }

    public var resolvesPendingBookings: Bool { pieces.contains { $0.resolvesPendingBookings } }

    public var unavailableMeans: UnavailableMeaning { .noEffect }
}
