import Backends
import Checking
import Services

/// A database could not be migrated: `description` names it and says why (its URL's
/// password redacted).
public struct MigrationError: Error, CustomStringConvertible {
    public let description: String
}

extension DatabaseSetup {
    /// The databases whose URLs are given by flag or environment, inventory first (its seed
    /// rows are what the booking service books).
    public static func targets(inventoryDatabaseURL: String?, bookingDatabaseURL: String?) -> [(database: Database, url: String)] {
        [(Database.inventory, ServiceEnvironment.inventoryDatabaseURL, inventoryDatabaseURL),
         (.booking, ServiceEnvironment.bookingDatabaseURL, bookingDatabaseURL)]
            .compactMap { database, setting, flag in
                setting.isUnset(flag: flag) ? nil : (database, setting.value(flag: flag, fallback: ""))
            }
    }

    /// What is wrong with `overbook migrate`'s options (`targets` as `targets(...)` finds them),
    /// in their words; `nil` if nothing.
    public static func problem(_ targets: [(database: Database, url: String)], seedData: Bool, wait: Double) -> String? {
        guard wait >= 0 else { return "--wait must be 0 or more seconds, got \(wait)" }
        let (inventory, booking) = (ServiceEnvironment.inventoryDatabaseURL.variable, ServiceEnvironment.bookingDatabaseURL.variable)
        if targets.isEmpty {
            return "nothing to migrate: give --inventory-database-url or --booking-database-url (or set \(inventory) or \(booking))"
        }
        if seedData && !targets.contains(where: { $0.database == .inventory }) {
            return "--seed-data fills inventory_db: give --inventory-database-url (or set \(inventory))"
        }
        return nil
    }

    /// `overbook migrate`: each of `targets` prepared in turn (the inventory with the seed's
    /// rows when `seedData`), waiting up to `patience` for its server (why, on `output.error`).
    public static func migrate(_ targets: [(database: Database, url: String)], seedData: Bool, patience: Duration,
                               output: CommandOutput) throws(MigrationError) {
        for target in targets {
            let seeding = seedData && target.database == .inventory
            do {
                try runBlocking {
                    try await prepare(target.database, url: target.url, seedData: seeding, patience: patience, waiting: { output.error($0) })
                }
            } catch {
                throw MigrationError(description: "could not migrate the \(target.database.rawValue) database: \(redacting(target.url, in: "\(error)"))")
            }
            output.line("migrated the \(target.database.rawValue) database at \(redacted(target.url))\(seeding ? ", with the seed's rooms and nights" : "")")
        }
    }
}
