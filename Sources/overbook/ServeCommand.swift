import ArgumentParser
import BookingCore
import RealHarness
import Foundation
import Services

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the seed's inventory or booking service over HTTP (real mode).",
        discussion: """
        The same algorithm the simulator runs, bound to PostgreSQL (libpq) and Redis (hiredis) and \
        served by Hummingbird. Both bind 127.0.0.1 unless --host says otherwise, migrate their \
        schema at start, and stop cleanly on SIGINT/SIGTERM. The endpoints are in openapi.yaml.

        Examples:
          overbook serve inventory --port 5001 --database-url postgresql://overbook@127.0.0.1:5432/inventory_db --seed-data
          overbook serve booking --port 5002 --database-url postgresql://overbook@127.0.0.1:5432/booking_db \\
              --redis-url redis://127.0.0.1:6379 --inventory-url http://127.0.0.1:5001/api
        """,
        subcommands: [ServeInventoryCommand.self, ServeBookingCommand.self]
    )
}

struct ServeOptions: ParsableArguments {
    @Option(help: "Address to bind. Only loopback by default; pass 0.0.0.0 to listen on every interface.")
    var host = "127.0.0.1"

    @Option(help: "PostgreSQL connections in the pool (each with its own thread).")
    var poolSize = 10

    @Option(help: "Algorithm variant: \(VariantOption.registry.syntax) (or set \(ServiceEnvironment.variant.variable)). Default: seed.")
    var variant: String?

    @Option(help: "Serve as sync workers do (gunicorn's default): at most this many requests at once, the rest waiting their turn. Off by default: every request at once.")
    var workers: Int?

    @Option(help: "With --workers: how many requests may wait for a worker; one more is answered 503 at once.")
    var backlog = Serving.defaultBacklog

    @Flag(help: "Serve /_overbook/faults, through which a driver (overbook real) parks, holds or crashes requests at this service's fault points. Loopback --host only; off by default.")
    var faultControl = false

    @Flag(help: "Time every request and every call to Redis, PostgreSQL and the inventory, and serve the timings on /_overbook/timings (what overbook calibrate reads). Loopback --host only; off by default.")
    var recordTimings = false

    func parsedVariant() throws -> Variant {
        try setting { try ServiceEnvironment.selectedVariant(flag: variant, registry: VariantOption.registry) }
    }

    var settings: ServeSettings {
        ServeSettings(host: host, poolSize: poolSize, workers: workers, backlog: backlog, faultControl: faultControl, recordTimings: recordTimings)
    }

    /// What both services check before they start: `port`, these options, then the variant.
    func validate(port: Int) throws {
        try refuse(settings.problem(port: port))
        _ = try parsedVariant()
    }
}

struct ServeInventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "The inventory service (the seed's port 5001, PostgreSQL inventory_db).")

    @Option(help: "Port to listen on (0: any free port; the listening line says which).")
    var port = 5001

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL of inventory_db (or set \(ServiceEnvironment.inventoryDatabaseURL.variable)).")
    var databaseURL: String?

    @Flag(help: "Insert the seed's 4 rooms and availability for 2026-03-01..30 (existing rows are left as they are).")
    var seedData = false

    @OptionGroup var options: ServeOptions

    func validate() throws {
        try options.validate(port: port)
    }

    func run() throws {
        let url = try setting { try ServiceEnvironment.inventoryDatabaseURL.value(flag: databaseURL, option: "--database-url") }
        let (variant, seedData, settings, port) = (try options.parsedVariant(), seedData, options.settings, port)
        try runService {
            try await ServiceInstance.serveInventory(databaseURL: url, variant: variant, seedData: seedData, settings: settings, port: port,
                                                     announce: announceListening)
        }
    }
}

struct ServeBookingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "booking",
        abstract: "One booking replica (the seed's port 5002, PostgreSQL booking_db, Redis lock).")

    @Option(help: "Port to listen on (0: any free port; the listening line says which).")
    var port = 5002

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL of booking_db (or set \(ServiceEnvironment.bookingDatabaseURL.variable)).")
    var databaseURL: String?

    @Option(name: .customLong("redis-url"), help: "Redis URL, redis://host:port[/db] (or set \(ServiceEnvironment.redisURL.variable)).")
    var redisURL: String?

    @Option(name: .customLong("inventory-url"), help: "The inventory service's API root (or set \(ServiceEnvironment.inventoryURL.variable)). Default: \(ServiceEnvironment.inventoryURL.example).")
    var inventoryURL: String?

    @Option(name: .customLong("lock-ttl-ms"), help: "Lock TTL in milliseconds (the seed's SET NX EX 10).")
    var lockTTLMs: Int64 = 10_000

    @Option(name: .customLong("lock-backoff-ms"), help: "Pauses after each failed lock attempt, in milliseconds; their number is the number of attempts.")
    var lockBackoffMs = "100,200,400"

    @Option(name: .customLong("inventory-timeout-ms"), help: "How long to wait for the inventory service, in milliseconds.")
    var inventoryTimeoutMs: Int64 = 5_000

    @Option(help: "Redis connections (each with its own thread).")
    var redisConnections = 8

    @Option(help: "Concurrent HTTP connections to the inventory service.")
    var inventoryConnections = 32

    @OptionGroup var options: ServeOptions

    func validate() throws {
        try options.validate(port: port)
        try refuse(BookingServerOptions.problem(lockTTLMs: lockTTLMs, lockBackoffMs: lockBackoffMs, inventoryTimeoutMs: inventoryTimeoutMs,
                                                      redisConnections: redisConnections, inventoryConnections: inventoryConnections))
    }

    func run() throws {
        let variant = try options.parsedVariant()
        let serverOptions = try setting {
            try BookingServerOptions(databaseURL: databaseURL, redisURL: redisURL, inventoryURL: inventoryURL, variant: variant, lockTTLMs: lockTTLMs,
                                     lockBackoffMs: lockBackoffMs, inventoryTimeoutMs: inventoryTimeoutMs, redisConnections: redisConnections,
                                     inventoryConnections: inventoryConnections)
        }
        let (settings, port) = (options.settings, port)
        try runService { try await ServiceInstance.serveBooking(serverOptions, settings: settings, port: port, announce: announceListening) }
    }
}

/// A setting of the services as the command line reports it: a usage error naming the flag.
func setting<T>(_ resolve: () throws -> T) throws -> T {
    try asUsageError(on: ServiceSettingError.self, resolve)
}

/// Runs a service until it is signalled (or, for a child of `overbook real`, its parent is gone).
private func runService(_ body: @escaping @Sendable () async throws -> Void) throws {
    ServiceEnvironment.exitWithParent(announce: Console.error)
    try exitingWithStatus2(on: ServiceConfigurationError.self) { try runBlocking(body) }
}

/// The line that says where a service listens, flushed at once: a parent that started it with
/// `--port 0` reads the bound port from it (`RealStack`).
func announceListening(_ line: String) {
    print(line)
    fflush(nil)
}
