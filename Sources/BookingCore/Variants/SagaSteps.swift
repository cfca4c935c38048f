import Synchronization

/// The crash-safe variant's steps: a saga across the two databases. The booking is durable as
/// `pending` before the inventory moves, and every later step can be re-driven from the
/// booking database alone, by the request that started it, a retry, or the recovery worker.
extension BookingService {
    /// `BEGIN; INSERT ... status 'pending'; COMMIT`, then `resolve`.
    public func bookAsSaga(_ attempt: ConfirmAttempt) async -> APIResponse {
        await faults.reached(.beforeInsert)
        let booking = attempt.newBooking(status: .pending)
        let pending: Booking
        do throws(StoreError) {
            pending = try await insertAlone(booking)
        } catch {
            if let earlier = await answerToDuplicate(booking, after: error) { return earlier }
            // A lost COMMIT reply may have left the pending row in place: have it resolved.
            if case .connectionLost = error { startRecovery() }
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
        return await resolve(pending)
    }

    /// Drives a pending booking to `confirmed` or `cancelled`: reserve (idempotent by request
    /// id), then record the outcome; a reservation whose booking was cancelled meanwhile is
    /// given back. An unknown outcome leaves it pending for the recovery worker.
    public func resolve(_ pending: Booking) async -> APIResponse {
        guard let requestID = pending.requestID, let stay = pending.stay else {
            return .error(StatusCode.internalError, "pending booking \(pending.id) has no request id")
        }
        await faults.reached(.beforeDecrement)
        let reserve: APIResponse
        do {
            reserve = try await inventory.call(.reserve(stay.room, ReserveBody(checkIn: stay.checkIn, checkOut: stay.checkOut,
                                                                              requestID: requestID)),
                                               timeout: configuration.inventoryTimeout)
        } catch {
            startRecovery()
            return Self.stillPending(pending)
        }
        let target: BookingStatus
        switch reserve.status {
        case StatusCode.ok: target = .confirmed
        case StatusCode.conflict, StatusCode.notFound: target = .cancelled
        default:
            startRecovery()
            return Self.stillPending(pending)
        }
        await faults.reached(.beforeCommit)
        let changed: Bool
        do {
            changed = try await setStatus(pending.id, to: target)
        } catch {
            startRecovery()
            return Self.stillPending(pending)
        }
        await faults.reached(.afterCommit)
        if changed {
            var booking = pending
            booking.status = target
            return target == .confirmed ? APIResponse(status: StatusCode.created, body: .booking(booking)) : EarlyAnswer.roomTaken.response
        }
        return await answerAsResolvedElsewhere(pending, requestID: requestID, stay: stay, wanted: target)
    }

    /// `202 Accepted` with the pending booking: it is written and will be confirmed or
    /// cancelled (by a retry or the recovery worker), so `503` would say too little.
    static func stillPending(_ pending: Booking) -> APIResponse {
        APIResponse(status: StatusCode.accepted, body: .booking(pending))
    }

    /// Someone else (a recovery worker, a retry) resolved `pending` first: answer what they
    /// decided, giving back our reservation if they cancelled it.
    private func answerAsResolvedElsewhere(_ pending: Booking, requestID: RequestID, stay: Stay,
                                           wanted target: BookingStatus) async -> APIResponse {
        let current: Booking?
        do {
            current = try await database.booking(id: pending.id)
        } catch {
            startRecovery()
            return .error(StatusCode.internalError, "booking \(pending.id): \(error); whether it was confirmed is unknown")
        }
        if current?.status == .cancelled, target == .confirmed {
            guard await compensate(requestID: requestID, stay: stay) else {
                startRecovery()
                return .error(StatusCode.serviceUnavailable, "booking \(pending.id) was cancelled; giving back its reservation failed")
            }
        }
        if let current, current.status == .confirmed { return APIResponse(status: StatusCode.created, body: .booking(current)) }
        return EarlyAnswer.roomTaken.response
    }

    private func setStatus(_ id: BookingID, to status: BookingStatus) async throws(StoreError) -> Bool {
        let transaction = try await database.begin()
        do {
            let changed = try await transaction.setStatus(of: id, from: .pending, to: status)
            try await transaction.commit()
            return changed
        } catch {
            await transaction.rollback()
            throw error
        }
    }

    private func compensate(requestID: RequestID, stay: Stay) async -> Bool {
        let answer = try? await inventory.call(.release(stay.room, ReserveBody(checkIn: stay.checkIn, checkOut: stay.checkOut, requestID: requestID)),
                                               timeout: configuration.inventoryTimeout)
        return answer?.isSuccess ?? false
    }

    /// Starts this replica's recovery worker, when the variant resolves pending bookings and no
    /// worker is running: it re-drives every pending booking, pausing between passes, until
    /// none is left.
    public func startRecovery() {
        guard configuration.variant.flow.resolvesPendingBookings, let background, recovery.claim() else { return }
        let service = self
        background.start {
            await service.recoverPending()
        }
    }

    func recoverPending() async {
        defer { recovery.release() }
        var pause = Duration.milliseconds(500)
        while true {
            let pending: [Booking]
            do {
                pending = try await database.pendingBookings()
            } catch {
                // A clock that cannot sleep any more (shutdown, cancellation) ends the worker;
                // swallowing that error would spin here forever.
                do { try await clock.sleep(for: pause) } catch { return }
                continue
            }
            if pending.isEmpty { return }
            for booking in pending { _ = await resolve(booking) }
            do { try await clock.sleep(for: pause) } catch { return }
            pause = min(pause * 2, .seconds(8))
        }
    }
}

/// At most one recovery worker per replica.
final class RecoveryGate: Sendable {
    private let running = Mutex(false)
    func claim() -> Bool { running.withLock { if $0 { return false }; $0 = true; return true } }
    func release() { running.withLock { $0 = false } }
}
