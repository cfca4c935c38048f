import Foundation
import Testing

/// `overbook real` with a scenario's faults carried out on the real stack, one test per
/// mechanism, each asserting the fault's effect in the real databases or in the answers. They
/// use the test servers (given by URL, so no initdb per test) except the last, which starts
/// throwaway ones to show a faulted run leaves nothing behind. Durations are short: each run
/// takes a few seconds.
@Suite(.serialized) struct RealFaultsCommandTests {
    /// A last-room scenario (room 1, capacity 1, the night of 2026-03-15) with these users
    /// (YAML flow maps of `count` and `arrival`) and faults.
    static func scenario(in scratch: Scratch, seed: Int = 1, variant: String = "seed", users: [String], replicas: Int, lockTTL: String = "10s",
                         inventoryTimeout: String = "5s", clientTimeout: String = "30s", faults: [String]) throws -> String {
        let path = scratch.file("clitest-faults.yaml").path
        try """
            name: clitest-faults
            seed: \(seed)
            variant: \(variant)
            rooms:
              - {id: 1, capacity: 1}
            inventory: {from: 2026-03-01, nights: 30}
            users:
            \(users.map { "  - {room: 1, check_in: 2026-03-15, check_out: 2026-03-16, \($0)}" }.joined(separator: "\n"))
            booking_replicas: \(replicas)
            client_timeout: \(clientTimeout)
            inventory_timeout: \(inventoryTimeout)
            lock: {ttl: \(lockTTL), backoff: [50ms, 50ms]}
            faults:
            \(faults.map { "  - \($0)" }.joined(separator: "\n"))
            slo: {p95: 120s, mean: 120s}

            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `scenario` once against the test Redis (database `redis`) and two fresh databases;
    /// `check` sees the output and the two database URLs (inventory, booking).
    static func runGiven(_ scenario: String, redis: Int, _ check: (OverbookBinary.Result, String, String) throws -> Void) async throws {
        let redisURL = try RealModeServers.redisURL(database: redis)
        try await RealModeServers.withDatabases(2) { databases in
            let result = try await OverbookBinary.runOffThePool(["real", scenario, "--runs", "1", "--no-report", "--redis-url", redisURL,
                                                 "--inventory-database-url", databases[0], "--booking-database-url", databases[1]])
            try check(result, databases[0], databases[1])
        }
    }

    static func confirmedUsers(_ bookingDatabase: String) throws -> String {
        try RealModeServers.psql(bookingDatabase, "SELECT string_agg(user_id, ',' ORDER BY user_id) FROM bookings WHERE status = 'confirmed'")
    }

    static func available(_ inventoryDatabase: String) throws -> String {
        try RealModeServers.psql(inventoryDatabase, "SELECT available_quantity FROM availability WHERE room_id = 1 AND date = '2026-03-15'")
    }

    /// pause: booking-1 takes the lock for user_1 (a partition from the inventory keeps it
    /// inside the locked section), is SIGSTOPped past the 400 ms TTL, and user_2 on booking-2
    /// takes the key in the real Redis and books the room.
    @Test func aPausePastTheLockTTLLetsASecondHolderBook() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms", "count: 1, arrival: 900ms"], replicas: 2,
                                         lockTTL: "400ms", inventoryTimeout: "3s",
                                         faults: ["{kind: partition, between: [booking-1, inventory], at: 0ms, duration: 2s}",
                                                  "{kind: pause, target: booking-1, at: 200ms, duration: 1500ms}"])
        try await Self.runGiven(scenario, redis: 10) { result, _, bookings in
            #expect(result.output.contains("pause booking-1: SIGSTOP for 1.500s"), "\(result.output)\(result.error)")
            #expect(result.output.contains("partition booking-1 | inventory: the proxy between them drops every byte both ways for 2.000s"))
            #expect(result.output.contains("faults fired on the real stack: pause 1, partition 1"), "\(result.output)")
            let confirmedUsersBookings = try Self.confirmedUsers(bookings)
            #expect(confirmedUsersBookings == "user_2")
        }
    }

    /// pause at a point: booking-1 stops itself (SIGSTOP) right after taking the lock for
    /// user_1, past the 400 ms TTL; user_2 on booking-2 finds the key expired in the real Redis
    /// and books; user_1, continued, finds the room sold.
    @Test func aPauseAtAPointStopsTheReplicaThere() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms", "count: 1, arrival: 900ms"], replicas: 2,
                                         lockTTL: "400ms", faults: ["{kind: pause, target: booking-1, point: after-lock-acquired, duration: 1500ms}"])
        try await Self.runGiven(scenario, redis: 10) { result, _, bookings in
            #expect(result.output.contains("pause booking-1 at after-lock-acquired: it stopped itself there (SIGSTOP, pid "), "\(result.output)\(result.error)")
            #expect(result.output.contains("faults fired on the real stack: pause 1"), "\(result.output)")
            let confirmed = try Self.confirmedUsers(bookings)
            #expect(confirmed == "user_2", "\(result.output)")
        }
    }

    /// pause with a ratio: drawn at every fault point booking-1 reaches, as the simulator draws
    /// it; with 1/1 the first point (after-lock-acquired) stops it past the 400 ms TTL, and
    /// user_2 on booking-2 books, as with the pause at that point.
    @Test func aPauseWithARatioStopsTheReplicaAtAPointItReaches() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms", "count: 1, arrival: 900ms"], replicas: 2,
                                         lockTTL: "400ms", faults: ["{kind: pause, target: booking-1, ratio: 1/1, duration: 1500ms, limit: 1}"])
        try await Self.runGiven(scenario, redis: 10) { result, _, bookings in
            #expect(result.output.contains("pause booking-1 at after-lock-acquired (drawn at each of the 6 points a replica reaches, 1 in 1): it stopped itself there (SIGSTOP, pid "),
                    "\(result.output)\(result.error)")
            #expect(result.output.contains("faults fired on the real stack: pause 1"), "\(result.output)")
            #expect(!result.output.contains("not injected"), "\(result.output)")
            let confirmed = try Self.confirmedUsers(bookings)
            #expect(confirmed == "user_2", "\(result.output)")
        }
    }

    /// crash with a ratio: booking-1 ends (`_exit`) at the first point it reaches, holding the
    /// lock; it is restarted, and the run's one user gets no booking.
    @Test func aCrashWithARatioEndsTheReplicaAtAPointItReaches() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms"], replicas: 1, lockTTL: "1s", clientTimeout: "3s",
                                         faults: ["{kind: crash, target: booking, ratio: 1/1, duration: 300ms, limit: 1}"])
        try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
            #expect(result.output.contains("crash booking-1 at one of its fault points (drawn at each of the 6 points a replica reaches, 1 in 1); its log names which: _exit there (pid "),
                    "\(result.output)\(result.error)")
            #expect(result.output.contains("faults fired on the real stack: crash 1"), "\(result.output)")
            let (available, confirmed) = (try Self.available(inventory), try Self.confirmedUsers(bookings))
            #expect(available == "1", "nothing reserved before the first point: \(result.output)")
            #expect(confirmed == "")
        }
    }

    /// crash at a point: booking-1 ends (`_exit`) before its COMMIT, after the inventory
    /// committed the reserve: the room is gone in inventory_db and no booking holds it, the
    /// seed's split between the two databases, on real PostgreSQL.
    @Test func aCrashBeforeTheBookingCommitSplitsTheDatabases() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms"], replicas: 1, lockTTL: "1s", clientTimeout: "3s",
                                         faults: ["{kind: crash, target: booking, point: before-commit, duration: 300ms}"])
        try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
            #expect(result.output.contains("crash booking-1 at before-commit: _exit there (pid "), "\(result.output)\(result.error)")
            #expect(result.output.contains("restarted on port"))
            #expect(result.status == 1, "an invariant must break: \(result.output)")
            let (available, confirmed) = (try Self.available(inventory), try Self.confirmedUsers(bookings))
            #expect(available == "0")
            #expect(confirmed == "")
        }
    }

    /// connection-loss at a point: booking-1 waits at before-commit (the inventory has reserved)
    /// while its booking_db backends are terminated, so its COMMIT meets a closed connection and
    /// its transaction is rolled back by PostgreSQL: the room is gone and no booking holds it.
    @Test func aConnectionLossBeforeTheBookingCommitRollsItBack() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms"], replicas: 1, lockTTL: "1s", clientTimeout: "3s",
                                         faults: ["{kind: connection-loss, target: booking, point: before-commit}"])
        try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
            #expect(result.output.contains("connection-loss booking-1 at before-commit: pg_terminate_backend of its "), "\(result.output)\(result.error)")
            #expect(result.output.contains("faults fired on the real stack: connection-loss 1"), "\(result.output)")
            #expect(result.status == 1, "an invariant must break: \(result.output)")
            let (available, confirmed) = (try Self.available(inventory), try Self.confirmedUsers(bookings))
            #expect(available == "0")
            #expect(confirmed == "")
        }
    }

    /// postgres-abort at a point: booking-1's COMMIT, the next statement of its transaction once
    /// it passes before-commit, is aborted by PostgreSQL with 40001: the seed's split again.
    @Test func anAbortAtTheBookingCommitRollsItBack() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms"], replicas: 1, lockTTL: "1s", clientTimeout: "3s",
                                         faults: ["{kind: postgres-abort, target: booking, point: before-commit}"])
        try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
            #expect(result.output.contains("postgres-abort booking-1 at before-commit: the next statement of its open transaction (COMMIT included) aborted"),
                    "\(result.output)\(result.error)")
            #expect(result.output.contains("faults fired on the real stack: postgres-abort 1"), "\(result.output)")
            #expect(result.status == 1, "an invariant must break: \(result.output)")
            let (available, confirmed) = (try Self.available(inventory), try Self.confirmedUsers(bookings))
            #expect(available == "0")
            #expect(confirmed == "")
        }
    }

    /// The inventory stops itself before its COMMIT past the reserve's timeout: the seed answers
    /// 503 and the room is left unsellable; crash-safe answers 202 (pending) and its recovery
    /// worker confirms the booking once the inventory is back, before the databases are read.
    @Test func aReserveThatOutlivesItsTimeoutSplitsTheSeedButNotCrashSafe() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for variant in ["seed", "crash-safe"] {
            let scenario = try Self.scenario(in: scratch, variant: variant, users: ["count: 1, arrival: 0ms"], replicas: 1, lockTTL: "1s",
                                             inventoryTimeout: "1s", clientTimeout: "5s",
                                             faults: ["{kind: pause, target: inventory, point: inventory-before-commit, duration: 1500ms}"])
            try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
                #expect(result.output.contains("pause inventory at inventory-before-commit: it stopped itself there"), "\(result.output)\(result.error)")
                let (available, confirmed) = (try Self.available(inventory), try Self.confirmedUsers(bookings))
                #expect(available == "0")
                if variant == "seed" {
                    #expect(result.output.contains("  503: 1 requests"), "\(result.output)")
                    #expect(result.status == 1, "an invariant must break: \(result.output)")
                    #expect(confirmed == "")
                } else {
                    #expect(result.output.contains("  202: 1 requests"), "\(result.output)")
                    #expect(result.status == 0, "\(result.output)")
                    #expect(confirmed == "user_1")
                }
            }
        }
    }

    /// reply-loss: the reserve reaches the inventory and commits; its reply is dropped, so the
    /// booking times out and the room is left unsellable in inventory_db with no booking.
    /// Seed 2's draws spare the availability read (the first call) and hit the reserve.
    @Test func aLostReserveReplyLeavesTheReservationCommitted() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, seed: 2, users: ["count: 1, arrival: 0ms"], replicas: 1, inventoryTimeout: "1s",
                                         faults: ["{kind: reply-loss, hop: booking-inventory, ratio: 1/2, limit: 1}"])
        try await Self.runGiven(scenario, redis: 11) { result, inventory, bookings in
            #expect(result.output.contains("reply-loss on booking-inventory (booking-1): the proxy forwards the request and drops its reply (the work happened)"),
                    "\(result.output)\(result.error)")
            #expect(result.status == 1, "an invariant must break: \(result.output)")
            let availableInventory = try Self.available(inventory)
            #expect(availableInventory == "0")
            let confirmedUsersBookings = try Self.confirmedUsers(bookings)
            #expect(confirmedUsersBookings == "")
        }
    }

    /// crash: booking-1 is SIGKILLed and a fresh one started on the same port 300 ms later;
    /// the user, arriving after, is answered by it at the URL the driver already had.
    @Test func aCrashedReplicaAnswersAgainOnItsPort() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 3s"], replicas: 1,
                                         faults: ["{kind: crash, target: booking-1, at: 100ms, duration: 300ms}"])
        try await Self.runGiven(scenario, redis: 12) { result, _, bookings in
            #expect(result.output.contains("crash booking-1: SIGKILL (pid "), "\(result.output)\(result.error)")
            #expect(result.output.contains("after 0.300s"))
            #expect(result.status == 0, "\(result.output)\(result.error)")
            let confirmedUsersBookings = try Self.confirmedUsers(bookings)
            #expect(confirmedUsersBookings == "user_1")
        }
    }

    /// client-retry: the replica is stopped, the client times out after 500 ms and re-sends
    /// the same body twice; the third attempt is answered once the replica continues.
    @Test func aTimedOutClientSendsTheSameRequestAgain() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 100ms"], replicas: 1, clientTimeout: "500ms",
                                         faults: ["{kind: pause, target: booking-1, at: 0ms, duration: 1200ms}",
                                                  "{kind: client-retry, retries: 2}"])
        try await Self.runGiven(scenario, redis: 13) { result, _, _ in
            #expect(result.output.contains("client-retry user-1: timed out; re-sends the same body, same request id (up to 2 times)"),
                    "\(result.output)\(result.error)")
            #expect(result.output.contains("client user-1: sends the same request again (same request id), attempt 2"))
            #expect(result.output.contains("client user-1: sends the same request again (same request id), attempt 3"))
        }
    }

    /// postgres-abort per statement: the inventory's first statement is aborted by PostgreSQL
    /// itself (40001 raised in the transaction), so the reserve writes nothing, the user is
    /// told 503 and the room stays for sale; the fault is counted with its mechanism.
    @Test func anAbortedStatementWritesNothing() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 1, arrival: 0ms"], replicas: 1,
                                         faults: ["{kind: postgres-abort, target: inventory, ratio: 1/1, limit: 1}"])
        try await Self.runGiven(scenario, redis: 13) { result, inventory, bookings in
            #expect(result.output.contains("postgres-abort inventory: 1 statement(s) aborted by PostgreSQL"), "\(result.output)\(result.error)")
            #expect(result.output.contains("503: 1 requests"), "\(result.output)")
            #expect(result.status == 0, "no invariant breaks: \(result.output)")
            let availableInventory = try Self.available(inventory)
            #expect(availableInventory == "1")
            let confirmedUsersBookings = try Self.confirmedUsers(bookings)
            #expect(confirmedUsersBookings == "")
        }
    }

    /// redis-failover on throwaway servers: a replica redis-server is started, promoted at the
    /// fault's time and the replicas' proxies redirected to it; the run ends with the old
    /// topology back, every answer in, and no process (the replica included) or directory left.
    @Test func aFailoverPromotesAReplicaAndLeavesNothingBehind() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 4, arrival: 1s"], replicas: 2,
                                         faults: ["{kind: redis-failover, at: 300ms, duration: 300ms}"])
        let tag = "OVERBOOK_CLITEST_TAG=\(UUID().uuidString)"
        let watched = try RealModeCommandTests.runWatched(["real", scenario, "--runs", "2", "--no-report"], tag: tag)
        let output = watched.result.output
        #expect(output.contains("faults: 1 of the scenario's 1 carried out on the real stack"), "\(output)\(watched.result.error)")
        #expect(output.contains("redis-failover: the replica redis-server (port "), "\(output)")
        #expect(output.contains("promoted with REPLICAOF NO ONE, missing the primary's writes of that last 0.300s"), "\(output)")
        #expect(!output.contains("fault problem"), "failed back after each run: \(output)")
        #expect(output.contains("faults fired on the real stack in 2 runs: redis-failover 2"), "\(output)")
        #expect(!output.contains("no answer"), "\(output)")
        let redisServers = Set(watched.seen.filter { $0.commandLine.joined(separator: " ").contains("redis-server 127.0.0.1:") }.map(\.pid))
        #expect(redisServers.count == 2, "the primary and the failover's replica: \(watched.commandLines)")
        watched.expectNothingLeft(tag: tag)
    }

    /// `--profile NAME`: each run applies the named fault profile for its number, as the
    /// simulator applies it for a seed, and says what it drew; a bad name or one beside
    /// `--swarm` is a usage error.
    @Test func aProfileAppliesToEachRun() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try scratch.lastRoomScenario(users: 4)
        let redisURL = try RealModeServers.redisURL(database: 12)
        try await RealModeServers.withDatabases(2) { databases in
            let result = try await OverbookBinary.runOffThePool(["real", scenario, "--profile", "lost-messages", "--runs", "2", "--variant", "crash-safe",
                                                                 "--no-report", "--redis-url", redisURL,
                                                                 "--inventory-database-url", databases[0], "--booking-database-url", databases[1]])
            let output = result.output
            #expect(output.contains("profile lost-messages: each run applies it for its number"), "\(output)\(result.error)")
            #expect(output.contains("run 1: lost-messages faults: request-loss, reply-loss, "), "\(output)")
            #expect(output.contains("run 2: lost-messages faults: "), "\(output)")
            #expect(output.contains("faults fired on the real stack in 2 runs: "), "\(output)")
            #expect(!output.contains("✗ bookings per room-night <= capacity"), "crash-safe keeps its safety: \(output)")
        }
        let bad = try OverbookBinary.run(["real", scenario, "--profile", "nonsense"])
        #expect(bad.status == 64 && bad.error.contains("--profile must be one of: none, pause-past-ttl, "), "\(bad.error)")
        let both = try OverbookBinary.run(["real", scenario, "--profile", "crashes", "--swarm"])
        #expect(both.status == 64 && both.error.contains("--swarm is the 'swarm' profile; drop --profile crashes"), "\(both.error)")
    }

    /// A run with a pause, a crash, a Redis restart and a Redis clock jump (emulated) on
    /// throwaway servers: each fires with its mechanism, the kinds real mode cannot do (here a
    /// failover beside a restart, a latency spike on client-booking) are named as not injected, and afterwards no process (the
    /// restarted redis-server and booking replica included) and no directory is left.
    @Test func aFaultedRunLeavesNothingBehind() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let scenario = try Self.scenario(in: scratch, users: ["count: 4, arrival: 2s"], replicas: 2,
                                         faults: ["{kind: pause, target: booking-1, at: 50ms, duration: 300ms}",
                                                  "{kind: crash, target: booking-2, at: 50ms, duration: 200ms}",
                                                  "{kind: redis-restart, at: 100ms, duration: 100ms}",
                                                  "{kind: redis-failover, at: 400ms, duration: 300ms}",
                                                  "{kind: redis-clock-jump, at: 30ms, duration: 11s}",
                                                  "{kind: latency-spike, hop: client-booking, ratio: 1/30, duration: 10ms}"])
        let tag = "OVERBOOK_CLITEST_TAG=\(UUID().uuidString)"
        let watched = try RealModeCommandTests.runWatched(["real", scenario, "--runs", "1", "--no-report"], tag: tag)
        let output = watched.result.output
        #expect(output.contains("faults: 4 of the scenario's 6 carried out on the real stack"), "\(output)\(watched.result.error)")
        #expect(output.contains("a failover is not carried out in a run that also restarts Redis or jumps its clock"), "\(output)")
        #expect(output.contains("redis-clock-jump by 11.000s (an emulation: no real clock shift; every key's TTL shortened by the jump at once"), "\(output)")
        #expect(output.contains("not injected in real mode: the driver talks to the booking replicas directly, with no proxy on client-booking"), "\(output)")
        #expect(output.contains("pause booking-1: SIGSTOP for 0.300s"))
        #expect(output.contains("crash booking-2: SIGKILL"))
        #expect(output.contains("redis-restart: SIGKILL of redis-server (no persistence: every key lost), down for 0.100s"))
        #expect(!output.contains("fault problem"), "\(output)")
        #expect(output.contains("faults fired on the real stack: pause 1, crash 1, redis-restart 1, redis-clock-jump 1; not injected: latency-spike, redis-failover"), "\(output)")
        #expect(watched.result.status == 0, "\(output)\(watched.result.error)")
        let redisServers = Set(watched.seen.filter { $0.commandLine.joined(separator: " ").contains("redis-server 127.0.0.1:") }.map(\.pid))
        #expect(redisServers.count == 2, "the restart starts a second redis-server: \(watched.commandLines)")
        let replicas = Set(watched.seen.filter { $0.commandLine.joined(separator: " ").contains(" serve booking ") }.map(\.pid))
        #expect(replicas.count == 3, "the crash starts a third replica process: \(watched.commandLines)")
        watched.expectNothingLeft(tag: tag)
    }
}
