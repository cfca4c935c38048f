import BookingCore
import Testing
@testable import Simulation

/// The simulated PostgreSQL at READ COMMITTED, driven through the same `InventoryDatabase` and
/// `BookingDatabase` protocols the algorithms use, with zero network latency so that each step
/// happens exactly at the virtual time the test names.
@Suite struct PostgresModelTests {
    static let night = Night(iso: "2026-03-15")!
    static let x = RoomNight(room: RoomID(1), night: night)
    static let y = RoomNight(room: RoomID(2), night: night)
    static let noLatency = LatencyProfile(hops: [:])

    /// Runs `a` and `b` as two processes' tasks in one simulated world.
    static func twoClients(availability: [RoomNight: Int] = [x: 1, y: 1],
                           _ a: @escaping @Sendable (SimWorld, SimClock, any InventoryDatabase) async -> Void,
                           _ b: @escaping @Sendable (SimWorld, SimClock, any InventoryDatabase) async -> Void) -> SimWorld {
        let (failure, world) = SimulationHarness.run(latency: noLatency, availability: availability) { world in
            await withDiscardingTaskGroup { group in
                for (index, body) in [a, b].enumerated() {
                    let process = SimulationHarness.process(index + 1)
                    let clock = SimClock(simulator: world.simulator, process: process)
                    let database = SimInventoryDatabase(world: world, caller: process)
                    group.addTask { await body(world, clock, database) }
                }
            }
        }
        #expect(failure == nil)
        return world
    }

    static func at(_ milliseconds: Int, _ clock: SimClock) async {
        try? await clock.sleep(until: SimClock.Instant(nanoseconds: Int64(milliseconds) * 1_000_000), tolerance: nil)
    }

    @Test func readThenWriteLosesAnUpdate() {
        let results = Box<[String]>()
        results.value = []
        let world = Self.twoClients({ _, clock, db in
            let tx = try! await db.begin()
            let seen = try! await tx.availableQuantity(Self.x)!
            await Self.at(2, clock)
            _ = try! await tx.setAvailableQuantity(Self.x, to: seen - 1)
            await Self.at(4, clock)
            try! await tx.commit()
            results.value!.append("a read \(seen)")
        }, { _, clock, db in
            await Self.at(1, clock)
            let tx = try! await db.begin()
            let seen = try! await tx.availableQuantity(Self.x)!
            await Self.at(3, clock)
            // Blocks on a's row lock until a commits at 4 ms, then overwrites a's write.
            _ = try! await tx.setAvailableQuantity(Self.x, to: seen - 1)
            #expect(clock.now.nanoseconds == 4_000_000)
            try! await tx.commit()
            results.value!.append("b read \(seen)")
        })
        #expect(results.value!.sorted() == ["a read 1", "b read 1"])
        // Two decrements of a quantity of 1, and the row says 0: one update was lost.
        #expect(world.inventoryDatabase.model.committedQuantity(Self.x) == 0)
    }

    @Test func conditionalUpdateRechecksItsWhereAfterWaiting() {
        let outcomes = Box<[String: Bool]>()
        outcomes.value = [:]
        let world = Self.twoClients({ _, clock, db in
            let tx = try! await db.begin()
            outcomes.value!["a"] = try! await tx.decrementIfAvailable(Self.x, by: 1)
            await Self.at(4, clock)
            try! await tx.commit()
        }, { _, clock, db in
            await Self.at(1, clock)
            let tx = try! await db.begin()
            // Waits for a's row lock, then re-evaluates `available_quantity >= 1` on a's committed row.
            outcomes.value!["b"] = try! await tx.decrementIfAvailable(Self.x, by: 1)
            #expect(clock.now.nanoseconds == 4_000_000)
            try! await tx.commit()
        })
        #expect(outcomes.value! == ["a": true, "b": false])
        #expect(world.inventoryDatabase.model.committedQuantity(Self.x) == 0)
    }

    @Test func oppositeOrderRowLocksDeadlockAndOneIsAborted() {
        let errors = Box<[String: StoreError?]>()
        errors.value = [:]
        let world = Self.twoClients({ _, clock, db in
            let tx = try! await db.begin()
            _ = try! await tx.setAvailableQuantity(Self.x, to: 10)
            await Self.at(2, clock)
            do throws(StoreError) {
                _ = try await tx.setAvailableQuantity(Self.y, to: 10)
                try await tx.commit()
                errors.value!["a"] = .some(nil)
            } catch {
                errors.value!["a"] = error
                // PostgreSQL finds the cycle deadlock_timeout (1 s) after a started waiting.
                #expect(clock.now.nanoseconds == 1_002_000_000)
                await tx.rollback()
            }
        }, { _, clock, db in
            await Self.at(1, clock)
            let tx = try! await db.begin()
            _ = try! await tx.setAvailableQuantity(Self.y, to: 20)
            await Self.at(3, clock)
            do throws(StoreError) {
                _ = try await tx.setAvailableQuantity(Self.x, to: 20)
                try await tx.commit()
                errors.value!["b"] = .some(nil)
            } catch {
                errors.value!["b"] = error
                await tx.rollback()
            }
        })
        #expect(errors.value!["a"] == .some(.deadlockDetected))
        #expect(StoreError.deadlockDetected.sqlstate == "40P01")
        #expect(errors.value!["b"] == .some(nil))
        #expect(world.inventoryDatabase.model.committedQuantity(Self.x) == 20)
        #expect(world.inventoryDatabase.model.committedQuantity(Self.y) == 20)
    }

    @Test func eachStatementSeesCommittedDataAndItsOwnWrites() {
        let world = Self.twoClients({ _, clock, db in
            let tx = try! await db.begin()
            _ = try! await tx.setAvailableQuantity(Self.x, to: 5)
            #expect(try! await tx.availableQuantity(Self.x) == 5)
            await Self.at(2, clock)
            try! await tx.commit()
        }, { _, clock, db in
            await Self.at(1, clock)
            #expect(try! await db.availableQuantity(Self.x) == 1)
            await Self.at(3, clock)
            #expect(try! await db.availableQuantity(Self.x) == 5)
        })
        #expect(world.inventoryDatabase.model.committedQuantity(Self.x) == 5)
    }

    @Test func aLostConnectionRollsBackAndReleasesLocks() {
        let world = Self.twoClients({ world, clock, db in
            let tx = try! await db.begin()
            _ = try! await tx.setAvailableQuantity(Self.x, to: 0)
            await Self.at(2, clock)
            world.inventoryDatabase.disconnect(SimulationHarness.process(1).id)
            await Self.at(10, clock)
        }, { _, clock, db in
            await Self.at(1, clock)
            let tx = try! await db.begin()
            // Blocks on the row lock until the connection drops at 2 ms, then sees the old value.
            #expect(try! await tx.decrementIfAvailable(Self.x, by: 1))
            #expect(clock.now.nanoseconds == 2_000_000)
            try! await tx.commit()
        })
        #expect(world.inventoryDatabase.model.committedQuantity(Self.x) == 0)
    }

    @Test func aStatementAfterAnErrorIsRefusedUntilRollback() {
        _ = Self.twoClients({ _, _, db in
            let tx = try! await db.begin()
            _ = try! await tx.setAvailableQuantity(Self.x, to: 3)
            await tx.rollback()
            do throws(StoreError) {
                try await tx.commit()
                Issue.record("commit after rollback succeeded")
            } catch {
                #expect(error == .transactionClosed)
            }
        }, { _, _, _ in })
    }

    @Test func uniqueRequestIDWaitsForTheFirstInsertThenRefuses() {
        let results = Box<[String]>()
        results.value = []
        let stay = Stay(room: RoomID(1), checkIn: Self.night, checkOut: Self.night.adding(days: 1))!
        let (failure, world) = SimulationHarness.run(latency: Self.noLatency) { world in
            await withDiscardingTaskGroup { group in
                for index in 1...2 {
                    let process = SimulationHarness.process(index)
                    let clock = SimClock(simulator: world.simulator, process: process)
                    let db = SimBookingDatabase(world: world, caller: process)
                    group.addTask {
                        await Self.at(index, clock)
                        let tx = try! await db.begin()
                        do throws(StoreError) {
                            _ = try await tx.insert(NewBooking(userID: UserID("u"), stay: stay, requestID: RequestID("r1")))
                            await Self.at(5, clock)
                            try await tx.commit()
                            results.value!.append("\(index) committed")
                        } catch {
                            results.value!.append("\(index) \(error.sqlstate ?? "?") at \(clock.now.nanoseconds / 1_000_000)ms")
                            await tx.rollback()
                        }
                    }
                }
            }
        }
        #expect(failure == nil)
        #expect(results.value!.sorted() == ["1 committed", "2 23505 at 5ms"])
        #expect(world.bookingDatabase.model.bookings().count == 1)
    }
}
