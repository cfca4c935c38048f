import Backends
import BookingCore
import Foundation

/// What `overbook migrate` does for a deployment: the seed's `init_db.py` of each service (its
/// schema, and for the inventory the seed's rooms and nights), once the database accepts
/// connections. A container network starts the databases and this step together, so the first
/// tries may find the server still starting.
public enum DatabaseSetup {
    public enum Database: String, Sendable, CaseIterable {
        case inventory, booking
    }

    /// Migrates `database` at `url` (and, with `seedData`, inserts the inventory's seed rows,
    /// leaving existing rows as they are), retrying every second for up to `patience` while the
    /// server is unreachable or still starting; `waiting` hears why, once per failed try.
    public static func prepare(_ database: Database, url: String, seedData: Bool, patience: Duration,
                               waiting: @Sendable (String) -> Void = { _ in }) async throws {
        let pool = try PostgresPool(url: url, poolSize: 1)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        do {
            while true {
                let failure: StoreError
                do {
                    try await prepare(database, on: pool, seedData: seedData)
                    break
                } catch {
                    failure = error
                }
                guard failure.isServerUnreachable, clock.now < deadline else { throw failure }
                waiting("\(database.rawValue) database not ready (\(redacting(url, in: "\(failure)"))); trying again in 1 s")
                try await Task.sleep(for: .seconds(1))
            }
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    private static func prepare(_ database: Database, on pool: PostgresPool, seedData: Bool) async throws(StoreError) {
        switch database {
        case .inventory:
            try await InventorySchema.migrate(pool)
            if seedData {
                let seed = Scenario.seedExperiment()
                try await InventorySchema.seed(pool, rooms: seed.rooms, nights: seed.inventoryNights)
            }
        case .booking:
            try await BookingSchema.migrate(pool)
        }
    }
}
