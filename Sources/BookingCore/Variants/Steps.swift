/// The named steps every variant's confirm is composed of. Each is one request to the lock,
/// one statement to the booking database or one call to the inventory service, with the
/// answer the seed gives when it fails; a flow (`SeedFlow`, `FixedFlow`, or one of a package's
/// own) strings them together. A step that ends the confirm throws the answer (`EarlyAnswer`).

/// An answer that ends a confirm before its last step: a refusal, an outage, or a retry's
/// earlier answer.
public struct EarlyAnswer: Error, Sendable {
    public let response: APIResponse

    public init(_ response: APIResponse) { self.response = response }

    public static func error(_ status: Int, _ message: String) -> EarlyAnswer {
        EarlyAnswer(.error(status, message))
    }

    static let roomTaken = EarlyAnswer.error(StatusCode.conflict, "Room not available for the selected dates")

    /// How the fenced variant's `409` for a holder whose lock a newer one took begins: it says
    /// the request lost its lock, not that the room was full.
    public static let staleLockPrefix = "stale lock"

    /// Whether `answer` is that `409`.
    public static func isStaleLock(_ answer: APIResponse) -> Bool {
        isStaleLock(message: answer.body.errorMessage)
    }

    public static func isStaleLock(message: String?) -> Bool { message?.hasPrefix(staleLockPrefix) == true }
}

/// The Redis lock a confirm holds: its key and the token only this confirm knows.
public struct HeldLock: Hashable, Sendable {
    public let key: String
    public let token: String
}

/// A fencing token taken with the lock, and the fence (resource) it advances in each database.
public struct Fence: Hashable, Sendable {
    public let key: String
    public let token: Int

    public init(key: String, token: Int) {
        self.key = key
        self.token = token
    }
}

/// What taking the lock does when the lock service cannot be reached.
public enum UnreachableLock: Sendable {
    /// The seed: answer 503 at once.
    case giveUp
    /// The SET may still land after the timeout: take back whatever this token holds, or the
    /// room stays locked for a whole TTL.
    case releaseThenGiveUp
}

/// What the booking answers when the inventory's reserve gives no definite answer (no reply
/// in time, or an answer other than success or 409), after which the inventory may or may not
/// have moved.
public enum UnansweredReserve: Sendable {
    /// The seed: 503, although the inventory may have decremented.
    case unavailable
    /// 500 from the step, which a fixed variant answers as `503` saying the outcome is unknown
    /// (`FixedFlow`), so that a plain `503` keeps meaning that nothing was written. A retry with
    /// the same request id finds the reservation if it was made (`IdempotentFix`).
    case unknown
}

/// One confirm in flight: the request, and what the steps so far established.
public struct ConfirmAttempt: Hashable, Sendable {
    public let request: ConfirmRequest
    /// The request id the writes are keyed on: `nil` unless the variant keeps the client's
    /// (the seed's bookings table has no request id, so a retried request books again).
    public var requestID: RequestID?
    /// The fencing token both databases check, when the variant takes one.
    public var fence: Fence?

    public init(_ request: ConfirmRequest) {
        self.request = request
    }

    public var userID: UserID { request.userID }
    public var stay: Stay { request.stay }

    public func newBooking(status: BookingStatus = .confirmed) -> NewBooking {
        NewBooking(userID: userID, stay: stay, requestID: requestID, fencingToken: fence?.token, status: status)
    }

    /// The inventory reserve for this stay, keyed and fenced like the booking.
    public var reserveBody: ReserveBody {
        ReserveBody(checkIn: stay.checkIn, checkOut: stay.checkOut, requestID: requestID,
                    fencingToken: fence?.token, fenceKey: fence?.key)
    }
}

extension BookingService {
    /// Runs the steps in `body`; a step's early answer becomes the outcome.
    public func outcome(of body: () async throws(EarlyAnswer) -> APIResponse) async -> APIResponse {
        do {
            return try await body()
        } catch {
            return error.response
        }
    }

    // MARK: Lock

    /// The seed's lock key: the check-in night only, so overlapping stays with different
    /// check-ins take different locks.
    public static func lockKey(for stay: Stay) -> String { "lock:room:\(stay.room):\(stay.checkIn)" }

    /// `SET lock:room:{room}:{check_in} <token> NX EX <ttl>`, retried after each pause of the
    /// lock policy's backoff; 503 when every attempt failed or the lock service is unreachable.
    public func takeLock(for stay: Stay, ifUnreachable: UnreachableLock) async throws(EarlyAnswer) -> HeldLock {
        let held = HeldLock(key: Self.lockKey(for: stay), token: ids.lockToken())
        for pause in configuration.lock.backoff {
            do {
                if try await lock.acquire(key: held.key, token: held.token, ttl: configuration.lock.ttl) { return held }
            } catch {
                if ifUnreachable == .releaseThenGiveUp { await release(held) }
                throw .error(StatusCode.serviceUnavailable, "could not reach the lock service: \(error)")
            }
            try? await clock.sleep(for: pause)
        }
        throw .error(StatusCode.serviceUnavailable, Self.lockExhaustedMessage)
    }

    /// The compare-and-delete Lua script. Whether it found this confirm's token is ignored:
    /// an expired lock is past helping by then.
    public func release(_ held: HeldLock) async {
        _ = try? await lock.release(key: held.key, token: held.token)
    }

    /// `INCR fence:{lock key}`: a token newer than every earlier holder's.
    public func takeFencingToken(for held: HeldLock) async throws(EarlyAnswer) -> Fence {
        do {
            return Fence(key: held.key, token: try await lock.nextFencingToken("fence:\(held.key)"))
        } catch {
            throw .error(StatusCode.serviceUnavailable, "could not take a fencing token: \(error)")
        }
    }

    // MARK: Inventory

    /// The seed's availability check: one `GET availability` per night; 409 when a night has
    /// no room left.
    public func checkAvailability(_ stay: Stay) async throws(EarlyAnswer) {
        for night in stay.nights {
            let answer: APIResponse
            do {
                answer = try await inventory.call(.availability(stay.room, night), timeout: configuration.inventoryTimeout)
            } catch {
                throw .error(StatusCode.serviceUnavailable, "inventory service: \(error)")
            }
            guard answer.status == StatusCode.ok, case .availability(let availability) = answer.body else {
                throw answer.status == StatusCode.notFound
                    ? .error(StatusCode.notFound, "no availability record for room \(stay.room) on \(night)")
                    : .error(StatusCode.serviceUnavailable, "inventory service answered \(answer.status)")
            }
            if !availability.available { throw .roomTaken }
        }
    }

    /// `POST /api/rooms/{id}/reserve` while `transaction` is open: any failure rolls it back.
    /// A lost reply leaves it unknown whether the inventory moved; this step does not find out,
    /// and answers as `unanswered` says.
    public func reserve(_ attempt: ConfirmAttempt, holding transaction: any BookingTransaction,
                        ifUnanswered unanswered: UnansweredReserve) async throws(EarlyAnswer) {
        let answer: APIResponse
        do throws(NetworkError) {
            answer = try await inventory.call(.reserve(attempt.stay.room, attempt.reserveBody), timeout: configuration.inventoryTimeout)
        } catch {
            await transaction.rollback()
            throw Self.unansweredReserve(attempt, problem: "inventory service: \(error)", unanswered)
        }
        guard answer.isSuccess else {
            await transaction.rollback()
            throw answer.status == StatusCode.conflict
                ? .roomTaken
                : Self.unansweredReserve(attempt, problem: "inventory service answered \(answer.status)", unanswered)
        }
    }

    private static func unansweredReserve(_ attempt: ConfirmAttempt, problem: String, _ unanswered: UnansweredReserve) -> EarlyAnswer {
        switch unanswered {
        case .unavailable:
            return .error(StatusCode.serviceUnavailable, problem)
        case .unknown:
            let retry = attempt.requestID == nil ? "check GET /api/bookings/user/\(attempt.request.userID) before sending it again"
                : "send it again with the same request id"
            return .error(StatusCode.internalError, "\(problem); whether the room was reserved is unknown; \(retry)")
        }
    }

    // MARK: Booking database

    /// `BEGIN`.
    public func beginBooking() async throws(EarlyAnswer) -> any BookingTransaction {
        do {
            return try await database.begin()
        } catch {
            throw .error(StatusCode.serviceUnavailable, "booking database: \(error)")
        }
    }

    /// `INSERT INTO bookings`, after advancing the attempt's fence when it holds one (a stale
    /// holder is refused with 409). A retry whose request id is already booked gets the answer
    /// its first attempt got. Any failure rolls the transaction back.
    public func insert(_ attempt: ConfirmAttempt, in transaction: any BookingTransaction) async throws(EarlyAnswer) -> Booking {
        let booking = attempt.newBooking()
        let refused: Fence
        do throws(StoreError) {
            guard let fence = attempt.fence, !(try await transaction.advanceFence(fence.key, to: fence.token)) else {
                return try await transaction.insert(booking)
            }
            refused = fence
        } catch {
            await transaction.rollback()
            if let earlier = await answerToDuplicate(booking, after: error) { throw EarlyAnswer(earlier) }
            throw .error(StatusCode.internalError, "booking database: \(error)")
        }
        await transaction.rollback()
        throw .error(StatusCode.conflict, "\(EarlyAnswer.staleLockPrefix): a newer holder already wrote (fencing token \(refused.token))")
    }

    /// `BEGIN; INSERT INTO bookings ...; COMMIT`: one row in a transaction of its own, rolled
    /// back on any failure.
    func insertAlone(_ booking: NewBooking) async throws(StoreError) -> Booking {
        let transaction = try await database.begin()
        do throws(StoreError) {
            let row = try await transaction.insert(booking)
            try await transaction.commit()
            return row
        } catch {
            await transaction.rollback()
            throw error
        }
    }

    /// `COMMIT`. A failure here leaves the inventory decremented without a booking.
    public func commit(_ transaction: any BookingTransaction) async throws(EarlyAnswer) {
        do {
            try await transaction.commit()
        } catch {
            throw .error(StatusCode.internalError, "booking database: \(error)")
        }
    }

    // MARK: Request ids

    /// `SELECT ... WHERE request_id = $1`: the answer a retry of `requestID` gets, if an earlier
    /// attempt got far enough to leave a row. A lookup that fails answers `500`: an earlier
    /// attempt may have booked, so nothing definite can be said.
    public func earlierAnswer(to requestID: RequestID) async -> APIResponse? {
        let existing: Booking?
        do {
            existing = try await database.booking(requestID: requestID)
        } catch {
            return .error(StatusCode.internalError, "booking database: \(error); whether \(requestID) booked is unknown, "
                + "send it again with the same request id")
        }
        guard let existing else { return nil }
        switch existing.status {
        case .confirmed: return APIResponse(status: StatusCode.created, body: .booking(existing))
        case .cancelled: return EarlyAnswer.roomTaken.response
        case .abandoned: return .error(StatusCode.serviceUnavailable, Self.abandonedMessage(requestID))
        case .pending: return await resolve(existing)
        }
    }

    static func abandonedMessage(_ requestID: RequestID) -> String {
        "\(requestID) was given up without effect; send it again with a new request id"
    }

    /// The earlier answer when `error` is the unique request id refusing a retry's insert.
    func answerToDuplicate(_ booking: NewBooking, after error: StoreError) async -> APIResponse? {
        guard case .uniqueViolation = error, let requestID = booking.requestID else { return nil }
        return await earlierAnswer(to: requestID)
    }

    /// Makes a refusal (`409`) or a give-up (`503`) final for the attempt's request id before it
    /// is sent, so that it stays true: `INSERT` a `cancelled` (or `abandoned`) row under the
    /// request id. An attempt of the same request still in flight then cannot book any more
    /// (its own insert meets the unique request id). When an attempt already holds a row the
    /// insert is refused (PostgreSQL waits for that attempt's transaction first), and the answer
    /// is what that row says: a retry that overlapped its first attempt is answered `201`, not
    /// `409` or `503`. Any other answer, or an attempt without a request id, is left as it is.
    public func settle(_ answer: APIResponse, of attempt: ConfirmAttempt) async -> APIResponse {
        guard let requestID = attempt.requestID else { return answer }
        let status: BookingStatus
        switch answer.status {
        case StatusCode.conflict: status = EarlyAnswer.isStaleLock(answer) ? .abandoned : .cancelled
        case StatusCode.serviceUnavailable where !answer.saysOutcomeUnknown: status = .abandoned
        default: return answer
        }
        let record = attempt.newBooking(status: status)
        do throws(StoreError) {
            _ = try await insertAlone(record)
        } catch {
            if let earlier = await answerToDuplicate(record, after: error) { return earlier }
            return .error(StatusCode.internalError, "booking database: \(error); could not record \(requestID) as "
                + "\(status.rawValue), so whether it books is unknown; send it again with the same request id")
        }
        return answer
    }
}
