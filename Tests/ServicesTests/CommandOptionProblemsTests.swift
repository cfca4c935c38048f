import BookingCore
import RealHarness
import Services
import Testing

/// The real-mode commands' option checks and serve booking's settings, as the CLI hands them
/// to the library: the same messages, checked in the same order, as their validate() had.
@Suite struct CommandOptionProblemsTests {
    @Test func realChecksItsOptionsInOrder() {
        func problem(runs: Int = 1, replicas: Int? = nil, variant: String? = nil, repeatedRun: UInt64? = nil, schedule: Bool = false,
                     swarm: Bool = false, profile: String? = nil) -> String? {
            RealExperiment.problem(runs: runs, replicas: replicas, variant: variant, variants: .standard, repeatedRun: repeatedRun, schedule: schedule,
                                   swarm: swarm, profile: profile)
        }
        #expect(problem() == nil)
        #expect(problem(runs: 0, variant: "nope") == "--runs must be at least 1")
        #expect(problem(replicas: 0, variant: "nope") == "--replicas must be at least 1")
        #expect(problem(variant: "nope", repeatedRun: 0)?.hasPrefix("--variant must be ") == true)
        #expect(problem(repeatedRun: 0) == "--run counts from 1")
        #expect(problem(schedule: true, swarm: true)?.hasPrefix("--schedule replays the file's own users") == true)
        #expect(problem(swarm: true, profile: "crashes") == "--swarm is the 'swarm' profile; drop --profile crashes")
        #expect(problem(profile: "nope")?.hasPrefix("--profile must be one of: none, ") == true)
        #expect(problem(swarm: true) == nil && problem(profile: "crashes") == nil)
    }

    @Test func benchRealLoadAndValidate() {
        #expect(RealBenchmark.problem(rounds: 0, variant: "seed", variants: .standard, spreadMs: 0) == "--rounds must be at least 1")
        #expect(RealBenchmark.problem(rounds: 1, variant: "seed", variants: .standard, spreadMs: -1) == "--spread-ms must not be negative")
        #expect(RealBenchmark.problem(rounds: 1, variant: "seed", variants: .standard, spreadMs: 0) == nil)
        func load(users: Int = 50, room: Int = 1, checkIn: String = "2026-03-15", checkOut: String = "2026-03-17", timeout: Double = 30) -> String? {
            LoadReport.problem(users: users, room: room, checkIn: checkIn, checkOut: checkOut, timeout: timeout)
        }
        #expect(load() == nil)
        #expect(load(users: 0, timeout: 0) == "--users must be at least 1")
        #expect(load(room: 0) == "--room-id must be a positive integer")
        #expect(load(checkIn: "2026-3") == "--check-in must be a date YYYY-MM-DD, got '2026-3'")
        #expect(load(checkOut: "nope") == "--check-out must be a date YYYY-MM-DD, got 'nope'")
        #expect(load(timeout: 0) == "--timeout must be positive")
        #expect(DatabaseValidation.problem(room: 1, checkIn: "2026-03-15") == nil)
        #expect(DatabaseValidation.problem(room: 1, checkIn: "x") == load(checkIn: "x"))
    }

    @Test func migrateNeedsADatabaseAndTheInventoryToSeed() {
        let booking: [(database: DatabaseSetup.Database, url: String)] = [(.booking, "postgresql://x/booking_db")]
        #expect(DatabaseSetup.problem(booking, seedData: false, wait: 60) == nil)
        #expect(DatabaseSetup.problem(booking, seedData: false, wait: -1) == "--wait must be 0 or more seconds, got -1.0")
        #expect(DatabaseSetup.problem([], seedData: false, wait: 60)?.hasPrefix("nothing to migrate: ") == true)
        #expect(DatabaseSetup.problem(booking, seedData: true, wait: 60)
                == "--seed-data fills inventory_db: give --inventory-database-url (or set OVERBOOK_INVENTORY_DATABASE_URL)")
        #expect(DatabaseSetup.problem([(.inventory, "postgresql://x/inventory_db")], seedData: true, wait: 0) == nil)
    }

    @Test func backendURLsComeAllOrNone() {
        #expect(BackendLocations().problem == nil)
        #expect(BackendLocations(redisURL: "redis://a", inventoryDatabaseURL: "postgresql://b", bookingDatabaseURL: "postgresql://c").problem == nil)
        #expect(BackendLocations(redisURL: "redis://a").problem?.hasPrefix("give all three of --redis-url") == true)
    }

    @Test func serveBookingSettings() throws {
        func problem(ttl: Int64 = 10_000, backoff: String = "100,200,400", timeout: Int64 = 5_000, redis: Int = 8, inventory: Int = 32) -> String? {
            BookingServerOptions.problem(lockTTLMs: ttl, lockBackoffMs: backoff, inventoryTimeoutMs: timeout, redisConnections: redis,
                                         inventoryConnections: inventory)
        }
        #expect(problem() == nil)
        #expect(problem(ttl: 0, backoff: "x")?.hasPrefix("--lock-backoff-ms must be non-negative milliseconds") == true)
        #expect(problem(timeout: 0) == "--lock-ttl-ms and --inventory-timeout-ms must be positive")
        #expect(problem(redis: 0) == "--redis-connections and --inventory-connections must be at least 1")
        let options = try BookingServerOptions(databaseURL: "postgresql://x/booking_db", redisURL: "redis://r", inventoryURL: "http://i/api",
                                               variant: .seed, lockTTLMs: 3_000, lockBackoffMs: "5,10", inventoryTimeoutMs: 700,
                                               redisConnections: 2, inventoryConnections: 3)
        #expect(options.databaseURL == "postgresql://x/booking_db" && options.redisURL == "redis://r" && options.inventoryURL == "http://i/api")
        #expect(options.configuration.lock.ttl == .milliseconds(3_000) && options.configuration.lock.backoff == [.milliseconds(5), .milliseconds(10)])
        #expect(options.configuration.inventoryTimeout == .milliseconds(700))
        #expect(options.redisConnections == 2 && options.inventoryConnections == 3 && options.poolSize == 10)
    }

    @Test func aServiceVariantComesFromTheFlagTheEnvironmentOrTheSeed() throws {
        #expect(try ServiceEnvironment.selectedVariant(flag: nil, registry: .standard, environment: [:]) == .seed)
        #expect(try ServiceEnvironment.selectedVariant(flag: "crash-safe", registry: .standard, environment: ["OVERBOOK_VARIANT": "nope"])
                == VariantRegistry.standard.variant(named: "crash-safe"))
        #expect(try ServiceEnvironment.selectedVariant(flag: nil, registry: .standard, environment: ["OVERBOOK_VARIANT": "lock-free"]).rawValue
                == "lock-free")
        func problem(flag: String?, environment: [String: String]) -> String? {
            do {
                _ = try ServiceEnvironment.selectedVariant(flag: flag, registry: .standard, environment: environment)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(flag: nil, environment: ["OVERBOOK_VARIANT": "nope"])?.hasPrefix("OVERBOOK_VARIANT must be ") == true)
        #expect(problem(flag: "nope", environment: [:])?.hasPrefix("--variant must be ") == true)
    }
}
