import AsyncHTTPClient
import Backends
import BookingCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// How to run the inventory service.
public struct InventoryServerOptions: Sendable {
    public var databaseURL: String
    public var decrement: InventoryService.Decrement
    /// PostgreSQL connections (each with its own thread).
    public var poolSize: Int
    /// The driver's fault points (`overbook serve --fault-control`); `nil`, as by default: none.
    public var faultControl: ControlledFaultPoints?
    /// Sync workers (`overbook serve --workers`); `nil`, as by default: every request at once.
    public var workers: SyncWorkers?
    /// `overbook serve --record-timings`; `nil`, as by default: nothing recorded.
    public var timings: TimingRecorder?

    public init(databaseURL: String, decrement: InventoryService.Decrement = .readModifyWrite, poolSize: Int = 10,
                faultControl: ControlledFaultPoints? = nil) {
        self.databaseURL = databaseURL
        self.decrement = decrement
        self.poolSize = poolSize
        self.faultControl = faultControl
    }
}

/// How to run one booking replica.
public struct BookingServerOptions: Sendable {
    public var databaseURL: String
    public var redisURL: String
    /// The inventory's API root, e.g. `http://127.0.0.1:5001/api`.
    public var inventoryURL: String
    public var configuration: BookingConfiguration
    public var poolSize: Int
    public var redisConnections: Int
    /// Concurrent HTTP/1 connections to the inventory service.
    public var inventoryConnections: Int
    /// The driver's fault points (`overbook serve --fault-control`); `nil`, as by default: none.
    public var faultControl: ControlledFaultPoints?
    /// Sync workers (`overbook serve --workers`); `nil`, as by default: every request at once.
    public var workers: SyncWorkers?
    /// `overbook serve --record-timings`; `nil`, as by default: nothing recorded.
    public var timings: TimingRecorder?

    public init(databaseURL: String, redisURL: String, inventoryURL: String,
                configuration: BookingConfiguration = BookingConfiguration(),
                poolSize: Int = 10, redisConnections: Int = 8, inventoryConnections: Int = 32,
                faultControl: ControlledFaultPoints? = nil) {
        self.faultControl = faultControl
        self.databaseURL = databaseURL
        self.redisURL = redisURL
        self.inventoryURL = inventoryURL
        self.configuration = configuration
        self.poolSize = poolSize
        self.redisConnections = redisConnections
        self.inventoryConnections = inventoryConnections
    }
}

/// A service ready to listen: its routes, and what to close once it stops serving.
public struct ServiceInstance: Sendable {
    public let name: String
    let responder: RouterResponder<BasicRequestContext>
    let close: @Sendable () async -> Void

    /// The inventory service over a PostgreSQL pool. The schema is migrated on the way (it is
    /// idempotent and safe against concurrent twins); a database that is down does not stop
    /// the service from starting: it answers 503 until the database is back.
    public static func inventory(_ options: InventoryServerOptions, logger: Logger = ServiceInstance.defaultLogger("inventory")) async throws(ServiceConfigurationError) -> ServiceInstance {
        let pool = try makePool(url: options.databaseURL, size: options.poolSize, name: "overbook-inventory", what: "inventory database",
                                statementFaults: options.faultControl?.statements,
                                timer: options.timings.map { HopTimer($0, .inventoryPostgres) })
        do {
            try await InventorySchema.migrate(pool)
        } catch {
            logger.warning("could not migrate the inventory database yet (\(error)); serving anyway, answering 503 while it is unreachable")
        }
        let service = InventoryService(database: PostgresInventoryDatabase(pool: pool), decrement: options.decrement,
                                       faults: options.faultControl)
        let routes = InventoryHTTPService(service: service).routes + (options.faultControl.map(FaultControlHTTP.routes) ?? [])
        return ServiceInstance(name: "inventory", responder: HTTPServing.router(routes, faultControl: options.faultControl, workers: options.workers,
                                                                                timings: options.timings).buildResponder()) {
            await pool.close()
        }
    }

    /// One booking replica: Redis lock, PostgreSQL store, HTTP to the inventory, the wall clock.
    public static func booking(_ options: BookingServerOptions, logger: Logger = ServiceInstance.defaultLogger("booking")) async throws(ServiceConfigurationError) -> ServiceInstance {
        let pool = try makePool(url: options.databaseURL, size: options.poolSize, name: "overbook-booking", what: "booking database",
                                statementFaults: options.faultControl?.statements,
                                timer: options.timings.map { HopTimer($0, .bookingPostgres) })
        let lock: RedisLockService
        do {
            lock = try RedisLockService(url: options.redisURL, connections: max(1, options.redisConnections),
                                        timer: options.timings.map { HopTimer($0, .bookingRedis) })
        } catch {
            throw ServiceConfigurationError("Redis: \(error)")
        }
        let client = makeHTTPClient(connections: options.inventoryConnections)
        let inventory: HTTPRemoteService<InventoryRequest>
        do {
            inventory = try HTTPRemoteService(baseURL: options.inventoryURL, client: client,
                                              timer: options.timings.map { HopTimer($0, .bookingInventory) })
        } catch {
            try? await client.shutdown()
            throw ServiceConfigurationError("--inventory-url: \(error)")
        }
        do {
            try await BookingSchema.migrate(pool)
        } catch {
            logger.warning("could not migrate the booking database yet (\(error)); serving anyway, answering 503 while it is unreachable")
        }
        // Recording timings, the lock's back-off sleeps are waits, not the request's own time.
        let apiRoutes = options.timings == nil
            ? bookingRoutes(clock: ContinuousClock(), lock: lock, pool: pool, inventory: inventory, options: options)
            : bookingRoutes(clock: SleepRecordingClock(), lock: lock, pool: pool, inventory: inventory, options: options)
        let routes = apiRoutes + (options.faultControl.map(FaultControlHTTP.routes) ?? [])
        return ServiceInstance(name: "booking", responder: HTTPServing.router(routes, faultControl: options.faultControl, workers: options.workers,
                                                                              timings: options.timings).buildResponder()) {
            try? await client.shutdown()
            await lock.close()
            await pool.close()
        }
    }

    private static func bookingRoutes<C: Clock<Duration>>(clock: C, lock: RedisLockService, pool: PostgresPool,
                                                          inventory: HTTPRemoteService<InventoryRequest>,
                                                          options: BookingServerOptions) -> [HTTPServing.Route] {
        let service = BookingService(clock: clock, lock: lock, database: PostgresBookingDatabase(pool: pool),
                                     inventory: inventory, ids: UUIDIdentifiers(), faults: options.faultControl ?? NoFaultPoints(),
                                     configuration: options.configuration, background: TaskBackgroundWork())
        // A replica that starts (or restarts) first finishes sagas a crashed one left pending.
        service.startRecovery()
        return BookingHTTPService(service: service).routes
    }

    static func makePool(url: String, size: Int, name: String, what: String,
                         statementFaults: StatementFaults? = nil, timer: HopTimer? = nil) throws(ServiceConfigurationError) -> PostgresPool {
        do {
            // Migrations at start re-run `CREATE ... IF NOT EXISTS`; their NOTICEs are noise in the log.
            return PostgresPool(configuration: try PostgresConfiguration(url: url, poolSize: size, applicationName: name,
                                                                         settings: ["client_min_messages": "warning"]),
                                statementFaults: statementFaults, timer: timer)
        } catch {
            throw ServiceConfigurationError("\(what): \(error)")
        }
    }

    /// One client per process, shared by every call; HTTP/1 keep-alive on loopback.
    public static func makeHTTPClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(2)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections)))
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Info-level server logs on stderr (start, stop), quiet per request.
    public static func defaultLogger(_ name: String) -> Logger {
        var logger = Logger(label: "overbook.\(name)")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }

    /// Serves on `host:port` until SIGINT or SIGTERM, then drains in-flight requests, closes
    /// the backends and returns. `onListening` gets the bound port (useful with port 0).
    public func runUntilSignalled(host: String, port: Int, logger: Logger? = nil,
                                  onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let application = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger ?? Self.defaultLogger(name))
        do {
            try await application.runService()
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Serves in this process (tests, embedding) and returns once listening.
    public func start(host: String = "127.0.0.1", port: Int = 0, logger: Logger? = nil) async throws -> RunningServer {
        let listening = ListeningSignal()
        var quiet = Logger(label: "overbook.\(name)")
        quiet.logLevel = .warning
        let application = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in listening.resolve(.success(channel.localAddress?.port ?? port)) },
            logger: logger ?? quiet)
        let close = self.close
        let task = Task {
            defer { listening.resolve(.failure(ServiceConfigurationError("the server stopped before it listened on \(host):\(port)"))) }
            do {
                try await application.run()
            } catch {
                listening.resolve(.failure(error))
                await close()
                throw error
            }
            await close()
        }
        let boundPort = try await listening.value()
        return RunningServer(port: boundPort, task: task)
    }
}

extension ServiceInstance {
    /// What `overbook serve inventory --seed-data` does before serving: migrates the inventory
    /// database at `databaseURL` and inserts the seed experiment's rooms and nights. Rows that
    /// already exist are left as they are.
    public static func seedInventory(databaseURL: String) async throws {
        try await DatabaseSetup.prepare(.inventory, url: databaseURL, seedData: true, patience: .zero)
    }
}

/// A server started with `ServiceInstance.start`.
public struct RunningServer: Sendable {
    public let port: Int
    let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)/api" }

    /// Stops listening, lets in-flight requests finish, closes the backends.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Hands the bound port (or the failure to bind) from the server's callback to `start`.
final class ListeningSignal: Sendable {
    private let state = Mutex<(result: Result<Int, any Error>?, waiter: CheckedContinuation<Int, any Error>?)>((nil, nil))

    func resolve(_ result: Result<Int, any Error>) {
        let waiter: CheckedContinuation<Int, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Int, any Error>? = state.withLock { state in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

extension BookingServerOptions {
    /// `overbook serve booking`'s options: each URL from its flag, else its environment variable
    /// (the inventory's, else its example); the lock's TTL, its back-off pauses (`100,200,400`)
    /// and the inventory timeout in milliseconds. A setting that cannot be used is a
    /// `ServiceSettingError` naming its flag.
    public init(databaseURL: String?, redisURL: String?, inventoryURL: String?, variant: Variant, lockTTLMs: Int64, lockBackoffMs: String,
                inventoryTimeoutMs: Int64, redisConnections: Int, inventoryConnections: Int) throws(ServiceSettingError) {
        let databaseURL = try ServiceEnvironment.bookingDatabaseURL.value(flag: databaseURL, option: "--database-url")
        let redisURL = try ServiceEnvironment.redisURL.value(flag: redisURL, option: "--redis-url")
        let inventoryURL = ServiceEnvironment.inventoryURL.value(flag: inventoryURL, fallback: ServiceEnvironment.inventoryURL.example)
        let lock = LockPolicy(ttl: .milliseconds(lockTTLMs), backoff: try ServiceEnvironment.milliseconds(lockBackoffMs, option: "--lock-backoff-ms"))
        self.init(databaseURL: databaseURL, redisURL: redisURL, inventoryURL: inventoryURL,
                  configuration: BookingConfiguration(variant: variant, lock: lock, inventoryTimeout: .milliseconds(inventoryTimeoutMs)),
                  redisConnections: redisConnections, inventoryConnections: inventoryConnections)
    }

    /// What is wrong with `overbook serve booking`'s lock, timeout and connection options, in
    /// their words; `nil` if nothing.
    public static func problem(lockTTLMs: Int64, lockBackoffMs: String, inventoryTimeoutMs: Int64, redisConnections: Int,
                               inventoryConnections: Int) -> String? {
        do {
            _ = try ServiceEnvironment.milliseconds(lockBackoffMs, option: "--lock-backoff-ms")
        } catch {
            return error.description
        }
        guard lockTTLMs >= 1, inventoryTimeoutMs >= 1 else { return "--lock-ttl-ms and --inventory-timeout-ms must be positive" }
        guard redisConnections >= 1, inventoryConnections >= 1 else { return "--redis-connections and --inventory-connections must be at least 1" }
        return nil
    }
}
