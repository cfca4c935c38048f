import ArgumentParser
import RealHarness
import Services

/// The seed's `init_db.py` for a deployment: the one-shot step before the services start.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the services' tables (and, with --seed-data, the seed's rooms) in their databases, then exit.",
        discussion: """
        Migrates each database whose URL is given (by flag or environment), waiting for the server \
        to accept connections. Idempotent: the services migrate at start too, and seeding twice \
        leaves existing rows as they are. deploy/compose.yaml and deploy/k8s run it before the \
        services.

        Example:
          OVERBOOK_INVENTORY_DATABASE_URL=postgresql://... OVERBOOK_BOOKING_DATABASE_URL=postgresql://... \\
              overbook migrate --seed-data
        """
    )

    @Option(name: .customLong("inventory-database-url"), help: "PostgreSQL URL of inventory_db (or set \(ServiceEnvironment.inventoryDatabaseURL.variable)).")
    var inventoryDatabaseURL: String?

    @Option(name: .customLong("booking-database-url"), help: "PostgreSQL URL of booking_db (or set \(ServiceEnvironment.bookingDatabaseURL.variable)).")
    var bookingDatabaseURL: String?

    @Flag(help: "Insert the seed's 4 rooms and availability for 2026-03-01..30 into inventory_db.")
    var seedData = false

    @Option(help: "Seconds to wait for each database to accept connections.")
    var wait: Double = 60

    func validate() throws {
        try refuse(DatabaseSetup.problem(targets(), seedData: seedData, wait: wait))
    }

    func targets() -> [(database: DatabaseSetup.Database, url: String)] {
        DatabaseSetup.targets(inventoryDatabaseURL: inventoryDatabaseURL, bookingDatabaseURL: bookingDatabaseURL)
    }

    func run() throws {
        try exitingWithStatus2(on: MigrationError.self) {
            try DatabaseSetup.migrate(targets(), seedData: seedData, patience: .milliseconds(Int64(wait * 1000)), output: Console.output)
        }
    }
}

/// A container's health check: the image has no curl.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when a service's GET /api/health answers 200, 1 otherwise (a container health check).")

    @Option(help: "The health endpoint (or set \(ServiceEnvironment.healthURL.variable)). Default: \(ServiceEnvironment.healthURL.example).")
    var url: String?

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
    }

    func run() throws {
        let url = ServiceEnvironment.healthURL.value(flag: self.url, fallback: ServiceEnvironment.healthURL.example)
        if try !HealthProbe.check(url: url, timeout: .milliseconds(Int64(timeout * 1000)), output: Console.output) { throw ExitCode(1) }
    }
}
