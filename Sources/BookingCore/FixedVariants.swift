import Synchronization

/// The seed algorithm with fixes (see `Fix` for what each prevents and costs). The seed itself
/// stays untouched in `confirmSeed`; this is its shape with each fix applied at its step.
extension BookingService {
    func confirmFixed(userID: UserID, stay: Stay, requestID: RequestID?) async -> APIResponse {
        let variant = configuration.variant
        let requestID = variant.has(.idempotent) ? requestID : nil
        if let requestID, let earlier = await earlierAnswer(to: requestID) { return earlier }

        let key = "lock:room:\(stay.room):\(stay.checkIn)"
        let token = ids.lockToken()
        var acquired = false
        for pause in configuration.lock.backoff {
            do {
                if try await lock.acquire(key: key, token: token, ttl: configuration.lock.ttl) {
                    acquired = true
                    break
                }
            } catch {
                // The SET may still land after the timeout: take back whatever this token holds,
                // or the room stays locked for a whole TTL.
                _ = try? await lock.release(key: key, token: token)
                return .error(StatusCode.serviceUnavailable, "could not reach the lock service: \(error)")
            }
            try? await clock.sleep(for: pause)
        }
        guard acquired else {
            return .error(StatusCode.serviceUnavailable, Self.lockExhaustedMessage)
        }
        await faults.reached(.lockAcquired)
        var fence: Fence?
        if variant.has(.fenced) {
            do {
                fence = Fence(key: key, token: try await lock.nextFencingToken("fence:\(key)"))
            } catch {
                _ = try? await lock.release(key: key, token: token)
                return .error(StatusCode.serviceUnavailable, "could not take a fencing token: \(error)")
            }
        }
        let outcome: APIResponse
        if let refusal = await availabilityRefusal(stay) {
            outcome = refusal
        } else if variant.has(.crashSafe), let requestID {
            outcome = await saga(NewBooking(userID: userID, stay: stay, requestID: requestID, fencingToken: fence?.token, status: .pending))
        } else {
            outcome = await bookInOneTransaction(NewBooking(userID: userID, stay: stay, requestID: requestID, fencingToken: fence?.token), fence: fence)
        }
        await faults.reached(.beforeRelease)
        _ = try? await lock.release(key: key, token: token)
        return outcome
    }

    struct Fence {
        var key: String
        var token: Int
    }

    /// Idempotent: the answer a retry of `requestID` gets, if the first attempt got far enough.
    private func earlierAnswer(to requestID: RequestID) async -> APIResponse? {
        let existing: Booking?
        do {
            existing = try await database.booking(requestID: requestID)
        } catch {
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
        guard let existing else { return nil }
        switch existing.status {
        case .confirmed: return APIResponse(status: StatusCode.created, body: .booking(existing))
        case .cancelled: return .error(StatusCode.conflict, "Room not available for the selected dates")
        case .pending: return await resolve(existing)
        }
    }

    /// The seed's availability check, shared by every variant: one `GET availability` per night;
    /// the answer that refuses the confirm, or `nil` when every night has a room.
    func availabilityRefusal(_ stay: Stay) async -> APIResponse? {
        for night in stay.nights {
            let answer: APIResponse
            do {
                answer = try await inventory.call(.availability(stay.room, night), timeout: configuration.inventoryTimeout)
            } catch {
                return .error(StatusCode.serviceUnavailable, "inventory service: \(error)")
            }
            guard answer.status == StatusCode.ok, case .availability(let availability) = answer.body else {
                return answer.status == StatusCode.notFound
                    ? .error(StatusCode.notFound, "no availability record for room \(stay.room) on \(night)")
                    : .error(StatusCode.serviceUnavailable, "inventory service answered \(answer.status)")
            }
            if !availability.available { return .error(StatusCode.conflict, "Room not available for the selected dates") }
        }
        return nil
    }

    private func reserveBody(_ booking: NewBooking, fence: Fence?) -> ReserveBody {
        ReserveBody(checkIn: booking.stay.checkIn, checkOut: booking.stay.checkOut, requestID: booking.requestID,
                    fencingToken: fence?.token, fenceKey: fence?.key)
    }

    /// The seed's shape (booking transaction open across the reserve), with fences checked in
    /// both databases and the request id recorded in both.
    private func bookInOneTransaction(_ booking: NewBooking, fence: Fence?) async -> APIResponse {
        let transaction: any BookingTransaction
        do {
            transaction = try await database.begin()
        } catch {
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
        await faults.reached(.beforeInsert)
        let inserted: Booking
        do {
            if let fence, !(try await transaction.advanceFence(fence.key, to: fence.token)) {
                await transaction.rollback()
                return .error(StatusCode.conflict, "stale lock: a newer holder already wrote (fencing token \(fence.token))")
            }
            inserted = try await transaction.insert(booking)
        } catch {
            await transaction.rollback()
            if case .uniqueViolation = error, let requestID = booking.requestID,
               let earlier = await earlierAnswer(to: requestID) {
                return earlier
            }
            return .error(StatusCode.internalError, "booking database: \(error)")
        }
        await faults.reached(.beforeDecrement)
        let reserve: APIResponse
        do {
            reserve = try await inventory.call(.reserve(booking.stay.room, reserveBody(booking, fence: fence)),
                                               timeout: configuration.inventoryTimeout)
        } catch {
            await transaction.rollback()
            return .error(StatusCode.serviceUnavailable, "inventory service: \(error)")
        }
        guard reserve.isSuccess else {
            await transaction.rollback()
            return reserve.status == StatusCode.conflict
                ? .error(StatusCode.conflict, "Room not available for the selected dates")
                : .error(StatusCode.serviceUnavailable, "inventory service answered \(reserve.status)")
        }
        await faults.reached(.beforeCommit)
        do {
            try await transaction.commit()
        } catch {
            return .error(StatusCode.internalError, "booking database: \(error)")
        }
        await faults.reached(.afterCommit)
        return APIResponse(status: StatusCode.created, body: .booking(inserted))
    }

    /// Crash-safe: the booking is durable as `pending` before the inventory moves, and every
    /// later step can be re-driven from the database alone.
    private func saga(_ booking: NewBooking) async -> APIResponse {
        await faults.reached(.beforeInsert)
        let pending: Booking
        do throws(StoreError) {
            let transaction = try await database.begin()
            do throws(StoreError) {
                pending = try await transaction.insert(booking)
                try await transaction.commit()
            } catch {
                await transaction.rollback()
                throw error
            }
        } catch {
            if case .uniqueViolation = error, let requestID = booking.requestID,
               let earlier = await earlierAnswer(to: requestID) {
                return earlier
            }
            // A lost COMMIT reply may have left the pending row in place: have it resolved.
            if case .connectionLost = error { startRecovery() }
            return .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
        return await resolve(pending)
    }

    /// Drives a pending booking to `confirmed` or `cancelled`: reserve (idempotent by request
    /// id), then record the outcome; a reservation whose booking was cancelled meanwhile is
    /// given back. An unknown outcome leaves it pending for the recovery worker.
    func resolve(_ pending: Booking) async -> APIResponse {
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
            return .error(StatusCode.serviceUnavailable, "booking \(pending.id) is pending: \(error); it will be confirmed or cancelled")
        }
        let target: BookingStatus
        switch reserve.status {
        case StatusCode.ok: target = .confirmed
        case StatusCode.conflict, StatusCode.notFound: target = .cancelled
        default:
            startRecovery()
            return .error(StatusCode.serviceUnavailable, "booking \(pending.id) is pending: inventory answered \(reserve.status)")
        }
        await faults.reached(.beforeCommit)
        let changed: Bool
        do {
            changed = try await setStatus(pending.id, to: target)
        } catch {
            startRecovery()
            return .error(StatusCode.serviceUnavailable, "booking \(pending.id) is pending: \(error)")
        }
        await faults.reached(.afterCommit)
        if changed {
            var booking = pending
            booking.status = target
            return target == .confirmed
                ? APIResponse(status: StatusCode.created, body: .booking(booking))
                : .error(StatusCode.conflict, "Room not available for the selected dates")
        }
        // Someone else (a recovery worker, a retry) resolved it first: answer what they decided.
        let current: Booking?
        do {
            current = try await database.booking(id: pending.id)
        } catch {
            startRecovery()
            return .error(StatusCode.serviceUnavailable, "booking \(pending.id): \(error)")
        }
        if current?.status == .cancelled, target == .confirmed {
            // Our reservation stands for a cancelled booking: give it back.
            guard await compensate(requestID: requestID, stay: stay) else {
                startRecovery()
                return .error(StatusCode.serviceUnavailable, "booking \(pending.id) was cancelled; giving back its reservation failed")
            }
        }
        if let current, current.status == .confirmed { return APIResponse(status: StatusCode.created, body: .booking(current)) }
        return .error(StatusCode.conflict, "Room not available for the selected dates")
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

    /// Starts this replica's recovery worker unless it is running: it re-drives every pending
    /// booking, pausing between passes, until none is left.
    public func startRecovery() {
        guard configuration.variant.has(.crashSafe), let background, recovery.claim() else { return }
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
