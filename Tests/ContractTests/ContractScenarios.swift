import Backends
import BookingCore
import Testing

// Contract scenarios: each test states one behaviour of an abstraction over its protocol only,
// and runs in every `ContractWorld`: against the real server and against the simulator's model
// of it. Scenarios that need time sleep on the world's clock; scenarios that need a fault take
// it from the world, since only the world knows how to cut a connection.

// MARK: - Lock service

// Serialized, as the real-Redis suite in BackendsTests: some tests there change the whole server
// (SCRIPT FLUSH, CLIENT PAUSE).
@Suite("Lock service contract: real Redis and the simulated Redis", .serialized, .timeLimit(.minutes(1)))
struct LockServiceContract {
    /// `SET NX` grants the key to one holder; a second token is refused until the first releases.
    @Test(arguments: ContractWorld.all)
    func acquireIsExclusive(_ world: ContractWorld) async throws {
        try await world.withLockService { lock, _ async throws in
            let key = "lock:room:1:2026-03-15"
            // A TTL far past any stall: on a starved CI machine two calls once lay more than 10 s
            // apart, the first lease expired, and exclusivity looked broken. Expiry has its own test.
            let ttl = Duration.seconds(600)
            #expect(try await lock.acquire(key: key, token: "token-a", ttl: ttl))
            #expect(try await lock.acquire(key: key, token: "token-b", ttl: ttl) == false)
            #expect(try await lock.holder(of: key) == "token-a")
            #expect(try await lock.release(key: key, token: "token-a"))
            #expect(try await lock.holder(of: key) == nil)
            #expect(try await lock.acquire(key: key, token: "token-b", ttl: ttl))
            #expect(try await lock.release(key: key, token: "token-b"))
        }
    }

    /// A lease ends on its own after its TTL: the next caller gets the key, and the first holder's
    /// late release must not delete the new holder's lock.
    @Test(arguments: ContractWorld.all)
    func leaseExpires(_ world: ContractWorld) async throws {
        try await world.withLockService { lock, clock async throws in
            let key = "lock:room:1:2026-03-15"
            #expect(try await lock.acquire(key: key, token: "token-a", ttl: .milliseconds(50)))
            try await clock.sleep(for: .milliseconds(100))
            #expect(try await lock.holder(of: key) == nil, "the lease should have expired after 50 ms")
            #expect(try await lock.acquire(key: key, token: "token-b", ttl: .seconds(10)))
            #expect(try await lock.release(key: key, token: "token-a") == false, "an expired holder must not release the next holder's lock")
            #expect(try await lock.holder(of: key) == "token-b")
            #expect(try await lock.release(key: key, token: "token-b"))
        }
    }

    /// Compare-and-delete: a foreign token leaves the key in place; releasing twice is harmless.
    @Test(arguments: ContractWorld.all)
    func releaseWithForeignTokenKeepsTheKey(_ world: ContractWorld) async throws {
        try await world.withLockService { lock, _ async throws in
            let key = "lock:room:1:2026-03-15"
            #expect(try await lock.acquire(key: key, token: "owner", ttl: .seconds(10)))
            #expect(try await lock.release(key: key, token: "intruder") == false)
            #expect(try await lock.holder(of: key) == "owner")
            #expect(try await lock.release(key: key, token: "owner"))
            #expect(try await lock.release(key: key, token: "owner") == false)
            #expect(try await lock.release(key: "\(key):never-set", token: "owner") == false)
        }
    }

    /// `INCR`: concurrent callers each get a distinct number, and the numbers only grow.
    @Test(arguments: ContractWorld.all)
    func fencingTokensStrictlyIncrease(_ world: ContractWorld) async throws {
        try await world.withLockService { lock, _ async throws in
            let key = "fence:room:1"
            let tokens = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await lock.nextFencingToken(key) } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(tokens.sorted() == Array(1...20), "INCR hands out each number exactly once")
            #expect(try await lock.nextFencingToken(key) == 21)
        }
    }
}

// MARK: - Inventory database

@Suite("Inventory database contract: real PostgreSQL and the simulated model", .timeLimit(.minutes(1)))
struct InventoryDatabaseContract {
    /// The fixture reads back as seeded: rooms in id order, every row at capacity.
    @Test(arguments: ContractWorld.all)
    func seedDataReadsBack(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            #expect(try await db.rooms() == ContractFixture.rooms.map(\.room))
            for room in ContractFixture.rooms {
                for night in ContractFixture.nights {
                    #expect(try await db.availableQuantity(RoomNight(room: room.id, night: night)) == room.capacity)
                }
            }
            #expect(try await db.availableQuantity(ContractFixture.unknownNight) == nil)
        }
    }

    /// The seed's flaw in one picture: two transactions read 1, both write 0, both commit. The
    /// second UPDATE waits for the first's row lock but writes its stale value anyway, so two
    /// bookings consumed one unit: the final 0 hides a decrement.
    @Test(arguments: ContractWorld.all)
    func lostUpdateUnderReadThenWrite(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let key = ContractFixture.contested
            let first = try await db.begin()
            let second = try await db.begin()
            let firstRead = try #require(try await first.availableQuantity(key))
            let secondRead = try #require(try await second.availableQuantity(key))
            #expect(firstRead == 1 && secondRead == 1)

            #expect(try await first.setAvailableQuantity(key, to: firstRead - 1) == 1)
            async let secondWrite = second.setAvailableQuantity(key, to: secondRead - 1)
            try await first.commit()
            #expect(try await secondWrite == 1, "the second writer updates the row once the first commits")
            try await second.commit()

            #expect(try await db.availableQuantity(key) == 0, "two decrements, yet the count only fell by one")
        }
    }

    /// `UPDATE ... WHERE available_quantity >= 1` takes the row lock: a second writer blocks until
    /// the first commits, then re-evaluates its WHERE on the committed row, finds 0, and changes
    /// nothing. No oversell.
    @Test(arguments: ContractWorld.all)
    func conditionalDecrementWaitsThenRechecks(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, clock, _ async throws in
            let key = ContractFixture.contested
            let first = try await db.begin()
            #expect(try await first.decrementIfAvailable(key, by: 1))

            let second = try await db.begin()
            let secondFinished = Flag()
            async let secondDecrement: Bool = {
                defer { secondFinished.set() }
                return try await second.decrementIfAvailable(key, by: 1)
            }()
            try await clock.sleep(for: .milliseconds(200))
            #expect(!secondFinished.isSet, "the second UPDATE should wait for the first transaction's row lock")

            try await first.commit()
            #expect(try await secondDecrement == false, "after the wait the WHERE clause sees 0 and refuses")
            try await second.commit()
            #expect(try await db.availableQuantity(key) == 0)
        }
    }

    /// Many concurrent conditional decrements on the last unit: exactly one wins.
    @Test(arguments: ContractWorld.all)
    func conditionalDecrementNeverOversells(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let key = ContractFixture.contested
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let transaction = try await db.begin()
                        let won = try await transaction.decrementIfAvailable(key, by: 1)
                        try await transaction.commit()
                        return won
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
            #expect(try await db.availableQuantity(key) == 0)
        }
    }

    /// Two transactions lock two rows in opposite orders: the server picks one victim
    /// (`.deadlockDetected`, 40P01, rolled back), the other proceeds. Either way each row ends one
    /// above capacity, because only the survivor's two increments remain.
    @Test(arguments: ContractWorld.all)
    func deadlockWithOppositeLockOrder(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let (a, b) = (ContractFixture.contested, ContractFixture.roomy)
            let first = try await db.begin()
            let second = try await db.begin()
            #expect(try await first.increment(a, by: 1) == 1)
            #expect(try await second.increment(b, by: 1) == 1)

            async let firstCross = outcome { () async throws(StoreError) in try await first.increment(b, by: 1) }
            async let secondCross = outcome { () async throws(StoreError) in try await second.increment(a, by: 1) }
            let results = await [firstCross, secondCross]

            let victims = results.indices.filter { results[$0] == .failure(.deadlockDetected) }
            let survivors = results.indices.filter { results[$0] == .success(1) }
            #expect(victims.count == 1 && survivors.count == 1, "expected one deadlock victim and one survivor, got \(results)")
            guard let victim = victims.first, let survivor = survivors.first else { return }

            let transactions = [first, second]
            try await transactions[survivor].commit()
            await #expect(throws: StoreError.transactionClosed) { try await transactions[victim].commit() }

            #expect(try await db.availableQuantity(a) == ContractFixture.lastRoom.capacity + 1)
            #expect(try await db.availableQuantity(b) == ContractFixture.roomyRoom.capacity + 1)
        }
    }

    /// A transaction whose connection dies before COMMIT leaves no trace, and the database stays
    /// usable. Real: `pg_terminate_backend` on the transaction's server process; simulated: the
    /// server drops the client process's connections.
    @Test(arguments: ContractWorld.all)
    func rollbackOnDisconnect(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, cutConnection async throws in
            let key = ContractFixture.contested
            let doomed = try await db.begin()
            #expect(try await doomed.decrementIfAvailable(key, by: 1))
            try await cutConnection(doomed)

            do throws(StoreError) {
                try await doomed.commit()
                Issue.record("COMMIT on a lost connection should fail")
            } catch {
                switch error {
                case .connectionLost, .transactionClosed: break
                default: Issue.record("expected .connectionLost or .transactionClosed, got \(error)")
                }
            }
            #expect(try await db.availableQuantity(key) == 1, "the uncommitted decrement must be gone")

            let next = try await db.begin()
            #expect(try await next.decrementIfAvailable(key, by: 1), "the row lock died with the connection")
            try await next.commit()
            #expect(try await db.availableQuantity(key) == 0)
        }
    }

    /// The fence admits a token at least as new as the last one written and refuses an older
    /// one; a refusal changes nothing.
    @Test(arguments: ContractWorld.all)
    func fenceRefusesAnOlderToken(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let resource = "lock:room:1:2026-03-15"
            let first = try await db.begin()
            #expect(try await first.advanceFence(resource, to: 5), "the first token creates the fence")
            try await first.commit()

            let stale = try await db.begin()
            #expect(try await stale.advanceFence(resource, to: 4) == false, "an older token is refused")
            #expect(try await stale.advanceFence(resource, to: 5), "the same token may write again")
            #expect(try await stale.advanceFence("lock:room:2:2026-03-15", to: 1), "fences are per resource")
            try await stale.commit()

            let newer = try await db.begin()
            #expect(try await newer.advanceFence(resource, to: 6))
            await newer.rollback()
            let after = try await db.begin()
            #expect(try await after.advanceFence(resource, to: 5), "a rolled-back advance leaves the fence at 5")
            try await after.commit()
        }
    }

    /// A reservation is recorded once per request id; removing it is also once only.
    @Test(arguments: ContractWorld.all)
    func reservationIsRecordedOnce(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let request = RequestID("request-7")
            let first = try await db.begin()
            #expect(try await first.recordReservation(request, stay: ContractFixture.stay))
            #expect(try await first.recordReservation(request, stay: ContractFixture.stay) == false, "the transaction sees its own row")
            try await first.commit()

            let retry = try await db.begin()
            #expect(try await retry.recordReservation(request, stay: ContractFixture.stay) == false, "a retry finds the reservation")
            #expect(try await retry.removeReservation(request))
            #expect(try await retry.removeReservation(request) == false)
            #expect(try await retry.removeReservation(RequestID("never-reserved")) == false)
            try await retry.commit()

            let again = try await db.begin()
            #expect(try await again.recordReservation(request, stay: ContractFixture.stay), "after removal the id is free again")
            await again.rollback()
        }
    }

    /// Two transactions record the same request id: the second waits for the first's outcome and,
    /// once it commits, finds the row and inserts nothing.
    @Test(arguments: ContractWorld.all)
    func concurrentReservationWaitsThenFindsTheFirst(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, clock, _ async throws in
            let request = RequestID("request-race")
            let first = try await db.begin()
            #expect(try await first.recordReservation(request, stay: ContractFixture.stay))

            let second = try await db.begin()
            let secondFinished = Flag()
            async let secondRecord: Bool = {
                defer { secondFinished.set() }
                return try await second.recordReservation(request, stay: ContractFixture.stay)
            }()
            try await clock.sleep(for: .milliseconds(200))
            #expect(!secondFinished.isSet, "the second INSERT should wait for the first transaction's outcome")
            try await first.commit()
            #expect(try await secondRecord == false)
            try await second.commit()
        }
    }

    /// Reads never wait for writers: while a transaction holds an uncommitted decrement, other
    /// reads (autocommit or in another transaction) see the committed value at once, and the
    /// writer sees its own.
    @Test(arguments: ContractWorld.all)
    func readsSeeCommittedDataWithoutWaiting(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, _, _ async throws in
            let key = ContractFixture.contested
            let writer = try await db.begin()
            #expect(try await writer.decrementIfAvailable(key, by: 1))
            #expect(try await writer.availableQuantity(key) == 0, "the writer sees its own write")
            #expect(try await db.availableQuantity(key) == 1, "an autocommit read sees the committed row")
            let reader = try await db.begin()
            #expect(try await reader.availableQuantity(key) == 1)
            try await writer.commit()
            #expect(try await reader.availableQuantity(key) == 0, "each statement sees what was committed when it began")
            await reader.rollback()
        }
    }

    /// `ON CONFLICT DO UPDATE ... WHERE` locks the fence row even when it refuses the token: a
    /// third writer waits for the refusing transaction to end.
    @Test(arguments: ContractWorld.all)
    func refusedFenceAdvanceStillLocksTheRow(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, clock, _ async throws in
            let resource = "lock:room:1:2026-03-15"
            let first = try await db.begin()
            #expect(try await first.advanceFence(resource, to: 5))
            try await first.commit()

            let stale = try await db.begin()
            #expect(try await stale.advanceFence(resource, to: 4) == false)

            let newer = try await db.begin()
            let newerFinished = Flag()
            async let advanced: Bool = {
                defer { newerFinished.set() }
                return try await newer.advanceFence(resource, to: 6)
            }()
            try await clock.sleep(for: .milliseconds(200))
            #expect(!newerFinished.isSet, "the refused advance should hold the fence row until its transaction ends")
            try await stale.commit()
            #expect(try await advanced)
            try await newer.commit()
        }
    }

    /// A reservation being removed by an open transaction blocks a new one for the same request
    /// id; once the removal commits, the new reservation goes in.
    @Test(arguments: ContractWorld.all)
    func reserveWaitsForAConcurrentRemoval(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, clock, _ async throws in
            let request = RequestID("request-again")
            let original = try await db.begin()
            #expect(try await original.recordReservation(request, stay: ContractFixture.stay))
            try await original.commit()

            let release = try await db.begin()
            #expect(try await release.removeReservation(request))

            let retry = try await db.begin()
            let retryFinished = Flag()
            async let recorded: Bool = {
                defer { retryFinished.set() }
                return try await retry.recordReservation(request, stay: ContractFixture.stay)
            }()
            try await clock.sleep(for: .milliseconds(200))
            #expect(!retryFinished.isSet, "the INSERT should wait for the transaction deleting the conflicting row")
            try await release.commit()
            #expect(try await recorded, "the removal committed: the id is free again")
            try await retry.commit()
        }
    }

    /// A DELETE sees only committed rows: another transaction's uncommitted reservation is
    /// neither removed nor waited for (a release racing the reserve it undoes finds nothing).
    @Test(arguments: ContractWorld.all)
    func removeIgnoresAnUncommittedReservation(_ world: ContractWorld) async throws {
        try await world.withInventoryDatabase { db, clock, _ async throws in
            let request = RequestID("request-pending")
            let reserve = try await db.begin()
            #expect(try await reserve.recordReservation(request, stay: ContractFixture.stay))

            let release = try await db.begin()
            let releaseFinished = Flag()
            async let removed: Bool = {
                defer { releaseFinished.set() }
                return try await release.removeReservation(request)
            }()
            #expect(try await releaseFinished.becomesSet(clock: clock), "the DELETE should not wait for a row it cannot see")
            try await reserve.commit()
            #expect(try await removed == false, "the uncommitted reservation is invisible to the DELETE")
            try await release.commit()

            let check = try await db.begin()
            #expect(try await check.recordReservation(request, stay: ContractFixture.stay) == false, "the reservation survived")
            await check.rollback()
        }
    }
}

// MARK: - Booking database

@Suite("Booking database contract: real PostgreSQL and the simulated model", .timeLimit(.minutes(1)))
struct BookingDatabaseContract {
    /// Inserted rows read back by id, by user and in full, in id order; rolled-back rows never do.
    @Test(arguments: ContractWorld.all)
    func insertAndReadBack(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let transaction = try await db.begin()
            let first = try await transaction.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay,
                                                                requestID: RequestID("request-1"), fencingToken: 7))
            let second = try await transaction.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            try await transaction.commit()

            #expect(first.id < second.id)
            #expect(first.status == .confirmed && first.requestID == RequestID("request-1") && first.fencingToken == 7)
            #expect(first.userID == UserID("user_1") && first.room == ContractFixture.stay.room)
            #expect(first.checkIn == ContractFixture.stay.checkIn && first.checkOut == ContractFixture.stay.checkOut)
            #expect(second.requestID == nil && second.fencingToken == nil)

            #expect(try await db.booking(id: first.id) == first)
            #expect(try await db.booking(id: BookingID(first.id.rawValue + 1000)) == nil)
            #expect(try await db.bookings(userID: UserID("user_1")) == [first])
            #expect(try await db.bookings(userID: UserID("user_3")) == [])

            let abandoned = try await db.begin()
            _ = try await abandoned.insert(NewBooking(userID: UserID("user_3"), stay: ContractFixture.stay))
            await abandoned.rollback()
            #expect(try await db.allBookings() == [first, second])
        }
    }

    /// Booking ids come from a sequence, which does not roll back: a rolled-back insert leaves a
    /// gap.
    @Test(arguments: ContractWorld.all)
    func rolledBackInsertLeavesAGapInIDs(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let abandoned = try await db.begin()
            let lost = try await abandoned.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay))
            await abandoned.rollback()
            let kept = try await db.begin()
            let booking = try await kept.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay))
            try await kept.commit()
            #expect(booking.id == BookingID(lost.id.rawValue + 1))
            #expect(try await db.allBookings() == [booking])
        }
    }

    /// A failed statement ends its transaction: later statements and COMMIT are refused.
    @Test(arguments: ContractWorld.all)
    func failedStatementClosesTheTransaction(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let transaction = try await db.begin()
            _ = try await transaction.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: RequestID("request-1")))
            await #expect(throws: StoreError.self) {
                _ = try await transaction.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: RequestID("request-1")))
            }
            await #expect(throws: StoreError.transactionClosed) {
                _ = try await transaction.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            }
            await #expect(throws: StoreError.transactionClosed) { try await transaction.commit() }
            await transaction.rollback()
            #expect(try await db.allBookings().isEmpty, "nothing of the failed transaction survives")
        }
    }

    /// The crash-safe saga's statements: a booking written `pending` is listed as pending and
    /// found by request id; a status change applies only from the expected status.
    @Test(arguments: ContractWorld.all)
    func pendingBookingIsResolvedOnce(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let request = RequestID("request-saga")
            let transaction = try await db.begin()
            let pending = try await transaction.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay,
                                                                  requestID: request, status: .pending))
            let settled = try await transaction.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            try await transaction.commit()
            #expect(pending.status == .pending && settled.status == .confirmed)

            #expect(try await db.pendingBookings() == [pending])
            #expect(try await db.booking(requestID: request) == pending)
            #expect(try await db.booking(requestID: RequestID("unknown")) == nil)

            let resolve = try await db.begin()
            #expect(try await resolve.setStatus(of: pending.id, from: .pending, to: .confirmed))
            #expect(try await resolve.setStatus(of: pending.id, from: .pending, to: .cancelled) == false, "no longer pending")
            #expect(try await resolve.setStatus(of: BookingID(pending.id.rawValue + 1000), from: .pending, to: .confirmed) == false)
            try await resolve.commit()

            #expect(try await db.pendingBookings() == [])
            #expect(try await db.booking(id: pending.id)?.status == .confirmed)
        }
    }

    /// The booking database's fence behaves like the inventory's.
    @Test(arguments: ContractWorld.all)
    func bookingFenceRefusesAnOlderToken(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let resource = "lock:room:1:2026-03-15"
            let first = try await db.begin()
            #expect(try await first.advanceFence(resource, to: 3))
            try await first.commit()
            let stale = try await db.begin()
            #expect(try await stale.advanceFence(resource, to: 2) == false)
            #expect(try await stale.advanceFence(resource, to: 4))
            try await stale.commit()
        }
    }

    /// The unique index on `request_id` refuses a second booking for the same request, and names
    /// itself as the schema does.
    @Test(arguments: ContractWorld.all)
    func duplicateRequestIsRefused(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, _ async throws in
            let request = RequestID("request-42")
            let original = try await db.begin()
            _ = try await original.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: request))
            try await original.commit()

            let retry = try await db.begin()
            do throws(StoreError) {
                _ = try await retry.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: request))
                Issue.record("a second booking for \(request) should be refused")
            } catch {
                if case .uniqueViolation(let constraint) = error {
                    #expect(constraint == BookingSchema.requestIDIndex)
                } else {
                    Issue.record("expected .uniqueViolation, got \(error)")
                }
            }
            await #expect(throws: StoreError.transactionClosed) { try await retry.commit() }

            // Rows without a request id are not constrained.
            let anonymous = try await db.begin()
            _ = try await anonymous.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            _ = try await anonymous.insert(NewBooking(userID: UserID("user_2"), stay: ContractFixture.stay))
            try await anonymous.commit()
            #expect(try await db.allBookings().count == 3)
        }
    }

    /// `user_1`'s open transaction inserts `request`; a second transaction inserts it for
    /// `secondUser` and must wait; `settle` then ends the first (commit or rollback). Returns the
    /// second insert's result and its still-open transaction.
    static func insertRacingAnother<C: Clock<Duration>>(
        _ request: RequestID, db: any BookingDatabase, clock: C, secondUser: UserID,
        settle: (any BookingTransaction) async throws -> Void
    ) async throws -> (Result<Booking, StoreError>, any BookingTransaction) {
        let first = try await db.begin()
        _ = try await first.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: request))
        let second = try await db.begin()
        let secondFinished = Flag()
        async let secondInsert: Result<Booking, StoreError> = outcome { () async throws(StoreError) in
            defer { secondFinished.set() }
            return try await second.insert(NewBooking(userID: secondUser, stay: ContractFixture.stay, requestID: request))
        }
        try await clock.sleep(for: .milliseconds(200))
        #expect(!secondFinished.isSet, "the second INSERT should wait for the first transaction's outcome")
        try await settle(first)
        return (await secondInsert, second)
    }

    /// Two open transactions insert the same request id: the second waits for the first to commit,
    /// then fails with a unique violation (rather than both succeeding).
    @Test(arguments: ContractWorld.all)
    func concurrentDuplicateRequestWaitsThenFails(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, clock async throws in
            let request = RequestID("request-race")
            let (result, second) = try await Self.insertRacingAnother(request, db: db, clock: clock, secondUser: UserID("user_1")) {
                try await $0.commit()
            }
            guard case .failure(.uniqueViolation) = result else {
                Issue.record("expected .uniqueViolation, got \(result)")
                return
            }
            await second.rollback()
            #expect(try await db.allBookings().count == 1)
        }
    }

    /// When the first of two inserts of one request id rolls back, the waiting second one goes
    /// ahead and inserts.
    @Test(arguments: ContractWorld.all)
    func concurrentDuplicateRequestSucceedsWhenTheFirstRollsBack(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, clock async throws in
            let request = RequestID("request-race")
            let (result, second) = try await Self.insertRacingAnother(request, db: db, clock: clock, secondUser: UserID("user_2")) {
                await $0.rollback()
            }
            guard case .success(let booking) = result else {
                Issue.record("expected the second insert to succeed, got \(result)")
                await second.rollback()
                return
            }
            try await second.commit()
            #expect(try await db.booking(requestID: request) == booking)
            #expect(try await db.allBookings() == [booking])
        }
    }

    /// An UPDATE sees only committed rows: a booking another transaction inserted and has not
    /// committed is neither changed nor waited for.
    @Test(arguments: ContractWorld.all)
    func setStatusIgnoresAnUncommittedBooking(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, clock async throws in
            let writer = try await db.begin()
            let pending = try await writer.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay,
                                                             requestID: RequestID("request-1"), status: .pending))

            let resolver = try await db.begin()
            let resolverFinished = Flag()
            async let changed: Bool = {
                defer { resolverFinished.set() }
                return try await resolver.setStatus(of: pending.id, from: .pending, to: .cancelled)
            }()
            #expect(try await resolverFinished.becomesSet(clock: clock), "the UPDATE should not wait for a row it cannot see")
            try await writer.commit()
            #expect(try await changed == false, "the uncommitted booking is invisible to the UPDATE")
            try await resolver.commit()
            #expect(try await db.booking(id: pending.id)?.status == .pending)
        }
    }

    /// The unique check waits while another transaction changes the committed booking that holds
    /// the request id, then refuses the duplicate.
    @Test(arguments: ContractWorld.all)
    func duplicateRequestWaitsForAStatusChangeThenFails(_ world: ContractWorld) async throws {
        try await world.withBookingDatabase { db, clock async throws in
            let request = RequestID("request-saga")
            let writer = try await db.begin()
            let pending = try await writer.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay,
                                                             requestID: request, status: .pending))
            try await writer.commit()

            let resolver = try await db.begin()
            #expect(try await resolver.setStatus(of: pending.id, from: .pending, to: .confirmed))

            let retry = try await db.begin()
            let retryFinished = Flag()
            async let retryInsert: Result<Booking, StoreError> = outcome { () async throws(StoreError) in
                defer { retryFinished.set() }
                return try await retry.insert(NewBooking(userID: UserID("user_1"), stay: ContractFixture.stay, requestID: request))
            }
            try await clock.sleep(for: .milliseconds(200))
            let waited = !retryFinished.isSet
            try await resolver.commit()
            let result = await retryInsert
            #expect(waited, "the duplicate INSERT should wait for the transaction updating the existing row")
            guard case .failure(.uniqueViolation) = result else {
                Issue.record("expected .uniqueViolation, got \(result)")
                await retry.rollback()
                return
            }
            await retry.rollback()
            #expect(try await db.allBookings().map(\.status) == [.confirmed])
        }
    }
}
