import AsyncHTTPClient
import Backends
import BookingCore
import Foundation
import Services
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where real mode's backends are: given by URL, or started for the run.
public struct BackendLocations: Sendable {
    public var redisURL: String?
    public var inventoryDatabaseURL: String?
    public var bookingDatabaseURL: String?

    public init(redisURL: String? = nil, inventoryDatabaseURL: String? = nil, bookingDatabaseURL: String? = nil) {
        self.redisURL = redisURL
        self.inventoryDatabaseURL = inventoryDatabaseURL
        self.bookingDatabaseURL = bookingDatabaseURL
    }

    public var allGiven: Bool { redisURL != nil && inventoryDatabaseURL != nil && bookingDatabaseURL != nil }
    public var noneGiven: Bool { redisURL == nil && inventoryDatabaseURL == nil && bookingDatabaseURL == nil }

    /// What is wrong with the URLs given, in the options' words: some but not all; `nil` if nothing.
    public var problem: String? {
        allGiven || noneGiven ? nil
            : "give all three of --redis-url, --inventory-database-url and --booking-database-url, or none (then throwaway servers are started)"
    }
}

/// Everything `overbook real` runs: Redis and PostgreSQL (its own throwaway ones unless URLs
/// were given), both databases migrated and seeded, the inventory service and the booking
/// replicas as child processes of this same binary (`overbook serve ...`), on free ports.
/// `shutdown()` stops all of it; so does Ctrl-C (see `InterruptHandler`).
public final class RealStack: Sendable {
    public struct Child: Sendable {
        public let name: String
        public let process: Process
        public let log: URL
        public let baseURL: String
        public let port: Int
        let kind: ServiceKind
        /// Its command line for a port, so a crashed child can be started again on its own.
        let arguments: @Sendable (Int) -> [String]
    }

    public let servers: ThrowawayServers?
    public let workDirectory: URL
    public let redisURL: String
    public let inventoryDatabaseURL: String
    public let bookingDatabaseURL: String
    public let lock: RedisLockService
    public let inventoryPool: PostgresPool
    public let bookingPool: PostgresPool
    public let client: HTTPClient
    private let children = Mutex<[Child]>([])
    private let shutdownTask = Mutex<Task<Void, Never>?>(nil)
    private let proxies = Mutex<HopProxies?>(nil)
    private let childStarts = Mutex<[String: Int]>([:])
    /// The fault injector of the run under way, cancelled first when everything stops.
    private let nemesis = Mutex<RealFaultInjector?>(nil)

    /// The fault proxies, when the services were started behind them.
    public var hopProxies: HopProxies? { proxies.withLock { $0 } }

    public var inventory: Child? { children.withLock { $0.first { $0.name == "inventory" } } }
    public var replicas: [Child] { children.withLock { $0.filter { $0.name.hasPrefix("booking") } } }

    private init(servers: ThrowawayServers?, workDirectory: URL, redisURL: String, inventoryDatabaseURL: String,
                 bookingDatabaseURL: String, client: HTTPClient) throws {
        self.servers = servers
        self.workDirectory = workDirectory
        self.redisURL = redisURL
        self.inventoryDatabaseURL = inventoryDatabaseURL
        self.bookingDatabaseURL = bookingDatabaseURL
        lock = try RedisLockService(url: redisURL, connections: 2)
        inventoryPool = try PostgresPool(url: inventoryDatabaseURL, poolSize: 2)
        bookingPool = try PostgresPool(url: bookingDatabaseURL, poolSize: 2)
        self.client = client
    }

    /// Backends up, schemas migrated; no service started yet.
    public static func start(_ locations: BackendLocations, users: Int, progress: @escaping @Sendable (String) -> Void) async throws -> RealStack {
        guard locations.allGiven || locations.noneGiven else {
            throw RealModeError("give all three of --redis-url, --inventory-database-url and --booking-database-url, or none (then throwaway servers are started)")
        }
        var servers: ThrowawayServers?
        let workDirectory: URL
        let redisURL: String
        let inventoryURL: String
        let bookingURL: String
        if let redis = locations.redisURL, let inventory = locations.inventoryDatabaseURL, let booking = locations.bookingDatabaseURL {
            workDirectory = try ThrowawayServers.makeDirectory(readableBy: nil)
            redisURL = redis
            inventoryURL = inventory
            bookingURL = booking
        } else {
            let started = try await ThrowawayServers.start(progress: progress)
            servers = started
            workDirectory = started.directory
            redisURL = started.redisURL
            do {
                let admin = try PostgresPool(url: started.postgresURL, poolSize: 1)
                try await PostgresAdmin.createDatabase(named: "inventory_db", on: admin)
                try await PostgresAdmin.createDatabase(named: "booking_db", on: admin)
                await admin.close()
            } catch {
                await started.stopAll()
                throw RealModeError("could not create inventory_db and booking_db: \(error)")
            }
            inventoryURL = started.databaseURL("inventory_db")
            bookingURL = started.databaseURL("booking_db")
        }
        let client = ConfirmLoad.makeClient(users: users)
        let stack: RealStack
        do {
            stack = try RealStack(servers: servers, workDirectory: workDirectory, redisURL: redisURL, inventoryDatabaseURL: inventoryURL,
                                  bookingDatabaseURL: bookingURL, client: client)
        } catch {
            try? await client.shutdown()
            await servers?.stopAll()
            throw RealModeError("\(error)")
        }
        do {
            try await InventorySchema.migrate(stack.inventoryPool)
            try await BookingSchema.migrate(stack.bookingPool)
        } catch {
            await stack.shutdown()
            throw RealModeError("could not migrate the databases: \(error)")
        }
        return stack
    }

    /// Rooms and availability rows a scenario needs. A room that already exists with another
    /// capacity would make every consistency check wrong, so it is refused.
    public func seed(_ scenario: Scenario) async throws {
        try await InventorySchema.seed(inventoryPool, rooms: scenario.rooms, nights: scenario.inventoryNights)
        let rooms = try await PostgresInventoryDatabase(pool: inventoryPool).rooms()
        for spec in scenario.rooms {
            guard let room = rooms.first(where: { $0.id == spec.id }), room.totalQuantity == spec.capacity else {
                throw RealModeError("room \(spec.id) has a different total_quantity in \(redacted(inventoryDatabaseURL)) than the scenario's capacity \(spec.capacity); use a fresh database")
            }
        }
    }

    /// Back to the state right after seeding: every night at full capacity, no bookings, no
    /// reservations or fences, no lock or fence keys in Redis.
    public func reset() async throws {
        // A session a fault left in an open transaction (its COMMIT lost on the way) would hold
        // its row locks, and the TRUNCATE below would wait for it for ever.
        for pool in [inventoryPool, bookingPool] { _ = try await PostgresInspector.terminateSessionsLeftInTransaction(pool) }
        try await InventorySchema.reset(inventoryPool)
        try await BookingSchema.reset(bookingPool)
        var keys = try await lock.liveKeys(matching: "lock:*").map(\.key)
        keys += try await lock.liveKeys(matching: "fence:*").map(\.key)
        try await lock.delete(keys)
    }

    // MARK: Services

    /// PostgreSQL connections each service holds (`serve --pool-size`).
    public static let servicePoolSize = 10

    static func workerArguments(_ serving: Serving) -> [String] {
        guard let workers = serving.workers else { return [] }
        return ["--workers", "\(workers)", "--backlog", "\(serving.backlog)"]
    }

    /// The binary the `overbook serve` children run: this very one, unless a test (whose own
    /// binary is the test runner) names the built `overbook`.
    static let executableOverride = Mutex<String?>(nil)

    static var executablePath: String {
        executableOverride.withLock { $0 }
            ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts the inventory service and `replicas` booking replicas, each `overbook serve ...`
    /// on a free port, and waits until each answers its health check. With `armFaults` every
    /// hop a service calls goes through a `FaultProxy` of its own (see `HopProxies`) and every
    /// service serves its fault points (`ControlledFaultPoints`), for a run with faults;
    /// without, each child gets the servers' URLs and has no fault control.
    /// `bookingServing` and `inventoryServing`: each service limits its requests in flight to
    /// the scenario's sync workers (`serve --workers`); the simulated service time is not
    /// added, a real request spends what it spends. `recordTimings`: every service times its
    /// traffic (`serve --record-timings`), for `overbook calibrate`.
    public func startServices(variant: Variant, configuration: BookingConfiguration, replicas: Int, armFaults: Bool = false,
                              bookingServing: Serving = .unlimited, inventoryServing: Serving = .unlimited, recordTimings: Bool = false,
                              progress: @escaping @Sendable (String) -> Void) async throws {
        // Armed for a scenario with faults only: proxies on every hop, and every service's
        // fault points served on its loopback port (`serve --fault-control`).
        let faultControl = (armFaults ? ["--fault-control"] : []) + (recordTimings ? ["--record-timings"] : [])
            + ["--pool-size", "\(Self.servicePoolSize)"]
        let count = max(1, replicas)
        var inventoryDatabaseURL = self.inventoryDatabaseURL
        if armFaults {
            progress("starting the fault proxies (loopback) on every hop...")
            let inventoryDatabase = try await HopProxies.proxy(in: inventoryDatabaseURL, what: "the inventory database")
            proxies.withLock { $0 = HopProxies(inventoryDatabase: inventoryDatabase.proxy) }
            inventoryDatabaseURL = inventoryDatabase.url
        }
        progress("starting the inventory service...")
        let inventory = try await startChild(name: "inventory", kind: .inventory) { [inventoryDatabaseURL] port in
            ["serve", "inventory", "--host", "127.0.0.1", "--port", "\(port)", "--database-url", inventoryDatabaseURL,
             "--variant", variant.rawValue] + faultControl + Self.workerArguments(inventoryServing)
        }
        var urls = [(redis: String, database: String, inventory: String)](repeating: (redisURL, bookingDatabaseURL, inventory.baseURL), count: count)
        if armFaults {
            for index in urls.indices {
                let redis = try await HopProxies.proxy(in: redisURL, what: "Redis")
                let database = try await HopProxies.proxy(in: bookingDatabaseURL, what: "the booking database")
                let toInventory = try await HopProxies.proxy(in: inventory.baseURL, what: "the inventory service")
                proxies.withLock { $0?.addReplica(redis: redis.proxy, database: database.proxy, inventory: toInventory.proxy) }
                urls[index] = (redis.url, database.url, toInventory.url)
            }
        }
        progress("starting \(count) booking replica\(count == 1 ? "" : "s")...")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (offset, url) in urls.enumerated() {
                group.addTask {
                    _ = try await self.startChild(name: "booking-\(offset + 1)", kind: .booking) { port in
                        ["serve", "booking", "--host", "127.0.0.1", "--port", "\(port)", "--database-url", url.database,
                         "--redis-url", url.redis, "--inventory-url", url.inventory, "--variant", variant.rawValue,
                         "--lock-ttl-ms", "\(milliseconds(configuration.lock.ttl))",
                         "--lock-backoff-ms", configuration.lock.backoff.map { "\(milliseconds($0))" }.joined(separator: ","),
                         "--inventory-timeout-ms", "\(milliseconds(configuration.inventoryTimeout))"] + faultControl
                            + Self.workerArguments(bookingServing)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    enum ServiceKind { case inventory, booking }

    /// Starts `overbook serve ...` on port 0 and learns the port it bound from the line it
    /// prints (so no other process can take a port between our choosing and its binding); on
    /// `port` instead when one is given (a restart, which must keep its callers' URLs).
    private func startChild(name: String, kind: ServiceKind, port fixedPort: Int = 0,
                            arguments: @escaping @Sendable (Int) -> [String]) async throws -> Child {
        var lastProblem = ""
        for _ in 1...3 {
            // A restarted child logs beside the one it replaces, so a crash's log survives.
            let starts = childStarts.withLock { counts in
                counts[name, default: 0] += 1
                return counts[name]!
            }
            let log = workDirectory.appendingPathComponent("logs/\(name)\(starts == 1 ? "" : "-\(starts)").log")
            let process = try await ChildSpawner.shared.launch(
                Self.executablePath, arguments(fixedPort), log: log, deathSignal: "TERM",
                environment: ["OVERBOOK_PARENT_PID": "\(getpid())", "LOG_LEVEL": "warning"])
            guard let port = await boundPort(of: process, log: log) else {
                lastProblem = process.isRunning ? "it printed no listening line within 30 s; log:\n\(tail(log))"
                    : "it exited with status \(process.terminationStatus); log:\n\(tail(log))"
                await stopChild(process, signal: SIGTERM, grace: .seconds(5))
                continue
            }
            let child = Child(name: name, process: process, log: log, baseURL: "http://127.0.0.1:\(port)/api", port: port,
                              kind: kind, arguments: arguments)
            children.withLock { $0.append(child) }
            if let problem = await waitUntilHealthy(child, kind: kind) {
                lastProblem = problem
                await stopChild(process, signal: SIGTERM, grace: .seconds(5))
                children.withLock { $0.removeAll { $0.process === process } }
                continue
            }
            return child
        }
        throw RealModeError("\(name) service did not become healthy: \(lastProblem)")
    }

    /// The port in the child's `listening on http://127.0.0.1:PORT/api` line; `nil` if it
    /// exits or prints none within 30 s.
    private func boundPort(of process: Process, log: URL) async -> Int? {
        let marker = "listening on http://127.0.0.1:"
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(30))
        while clock.now < deadline, process.isRunning {
            if let text = try? String(contentsOf: log, encoding: .utf8), let found = text.range(of: marker) {
                let digits = text[found.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits), text[found.upperBound...].dropFirst(digits.count).hasPrefix("/api") { return port }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// `nil` once `GET /api/health` answers 200; otherwise why not (after 30 s or an exit).
    private func waitUntilHealthy(_ child: Child, kind: ServiceKind) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(30))
        var last = "no answer yet"
        while clock.now < deadline {
            guard child.process.isRunning else {
                return "it exited with status \(child.process.terminationStatus); log:\n\(tail(child.log))"
            }
            do {
                let answer: APIResponse
                switch kind {
                case .inventory:
                    answer = try await HTTPRemoteService<InventoryRequest>(baseURL: child.baseURL, client: client).call(.health, timeout: .seconds(2))
                case .booking:
                    answer = try await HTTPRemoteService<BookingRequest>(baseURL: child.baseURL, client: client).call(.health, timeout: .seconds(2))
                }
                if answer.status == StatusCode.ok { return nil }
                last = "health answered \(answer.status): \(answer.body)"
            } catch {
                last = "\(error)"
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return "\(last); log:\n\(tail(child.log))"
    }

    /// The running child named `name` (`inventory`, `booking-2`).
    public func child(named name: String) -> Child? {
        children.withLock { $0.first { $0.name == name } }
    }

    /// A crash as the crash fault means it: SIGKILL (no handler, no drain, its transactions
    /// roll back when PostgreSQL sees the connections go, its Redis keys are left to expire),
    /// then, `downtime` later, a fresh process on the same port, so every caller's URL still
    /// reaches it. Returns the new process's pid.
    @discardableResult
    public func crashAndRestart(_ name: String, downtime: Duration) async throws -> Int32 {
        guard let old = child(named: name) else { throw RealModeError("no running service named \(name) to crash") }
        children.withLock { $0.removeAll { $0.process === old.process } }
        await stopChild(old.process, signal: SIGKILL, grace: .seconds(5))
        try await Task.sleep(for: downtime)
        let fresh = try await startChild(name: name, kind: old.kind, port: old.port, arguments: old.arguments)
        return fresh.process.processIdentifier
    }

    /// Every service that is no longer running (one that crashed itself at a point after the
    /// run that armed it had ended, say) started again on its port: each run begins with the
    /// whole stack. Returns what was restarted, with how each had ended.
    public func restartExited() async throws -> [String] {
        let exited = children.withLock { $0 }.filter { !$0.process.isRunning }
        var restarted: [String] = []
        for child in exited {
            restarted.append("\(child.name) (it had exited with status \(child.process.terminationStatus))")
            try await crashAndRestart(child.name, downtime: .zero)
        }
        return restarted
    }

    func arm(_ injector: RealFaultInjector?) {
        nemesis.withLock { $0 = injector }
    }

    /// Children that are no longer running, with their exit status: a crash during a run.
    public func exitedChildren() -> [String] {
        children.withLock { $0 }.filter { !$0.process.isRunning }.map { "\($0.name) exited with status \($0.process.terminationStatus); log:\n\(tail($0.log))" }
    }

    // MARK: Stopping

    /// Stops the services (SIGTERM: drain, close pools), then the throwaway servers, then
    /// removes the work directory. Idempotent.
    public func shutdown() async {
        // Every caller (the run's end, an error path, the Ctrl-C handler) waits for the one
        // shutdown to finish, so none of them exits while servers are still being stopped.
        let task = shutdownTask.withLock { task in
            if let task { return task }
            let started = Task { await self.stopEverything() }
            task = started
            return started
        }
        await task.value
    }

    private func stopEverything() async {
        // No fault may fire, or restart anything, while everything stops.
        await nemesis.withLock { $0 }?.cancel()
        let running = children.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for child in running {
                group.addTask {
                    // A paused child would not act on SIGTERM until the grace ran out.
                    kill(child.process.processIdentifier, SIGCONT)
                    await stopChild(child.process, signal: SIGTERM, grace: .seconds(10))
                }
            }
        }
        for proxy in proxies.withLock({ $0?.all ?? [] }) { await proxy.stop() }
        try? await client.shutdown()
        await lock.close()
        await inventoryPool.close()
        await bookingPool.close()
        if let servers {
            await servers.stopAll()
        } else {
            try? FileManager.default.removeItem(at: workDirectory)
        }
    }
}


/// The last lines of a log file, indented, for error messages.
func tail(_ url: URL, lines: Int = 20) -> String {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return "    (no log)" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).map { "    " + $0 }.joined(separator: "\n")
}

