import Backends
import BookingCore
import RunObservation
import Simulation
import Synchronization
import Testing

/// Where a contract scenario runs. Every scenario in `ContractScenarios.swift` is one
/// parameterized test over `ContractWorld.all`: the same body runs against the real server and
/// against the simulator's model of it, so the model is checked against the server rather than
/// assumed to match it. A scenario that passes on one and fails on the other is a bug in the
/// model.
enum ContractWorld: Hashable, Sendable, CustomTestStringConvertible {
    /// The servers `make test` (scripts/with-servers.sh) starts; a missing one fails the test.
    case real
    /// The simulator's model in a simulated world seeded like the real database. The seed draws
    /// the network latencies, so each seed interleaves a scenario's concurrent statements
    /// differently.
    case simulated(seed: UInt64)

    static let all: [ContractWorld] = [.real, .simulated(seed: 1), .simulated(seed: 2), .simulated(seed: 3)]

    var testDescription: String {
        switch self {
        case .real: "real server"
        case .simulated(let seed): "simulated, seed \(seed)"
        }
    }

    /// Cuts the connection a transaction runs on, as a crash or a network cut would.
    typealias CutConnection = @Sendable (any InventoryTransaction) async throws -> Void

    /// Runs `body` with a lock service: a real Redis (keys under a prefix of this test's own) or
    /// the simulated Redis. `clock` is the world's time: wall-clock or virtual.
    func withLockService(_ body: @escaping @Sendable (_ lock: any LockService, _ clock: any Clock<Duration>) async throws -> Void) async throws {
        switch self {
        case .real:
            let (lock, prefix) = try TestServers.redis()
            try await body(PrefixedLockService(base: lock, prefix: prefix), ContinuousClock())
        case .simulated(let seed):
            try SimulatedContractWorld.run(seed: seed) { world, process in
                try await body(SimLockService(world: world, caller: process), SimClock(simulator: world.simulator, process: process))
            }
        }
    }

    /// Runs `body` with an `inventory_db` seeded with `ContractFixture`: a fresh database on the
    /// real server (dropped afterwards) or the simulated one.
    func withInventoryDatabase(_ body: @escaping @Sendable (_ database: any InventoryDatabase, _ clock: any Clock<Duration>,
                                                            _ cutConnection: @escaping CutConnection) async throws -> Void) async throws {
        switch self {
        case .real:
            try await withTestDatabase { test in
                try await body(test.inventory, ContinuousClock()) { transaction in
                    let pid = try #require(transaction as? PostgresInventoryTransaction).transaction.backendPID
                    try await test.terminate(backendPID: pid)
                }
            }
        case .simulated(let seed):
            try SimulatedContractWorld.run(seed: seed) { world, process in
                // The simulated server knows connections by process: this cuts every transaction
                // of the scenario's process (the scenarios cut one while no other is open).
                try await body(SimInventoryDatabase(world: world, caller: process), SimClock(simulator: world.simulator, process: process)) { _ in
                    world.inventoryDatabase.disconnect(process.id)
                }
            }
        }
    }

    /// Runs `body` with an empty `booking_db`: a fresh database on the real server or the
    /// simulated one.
    func withBookingDatabase(_ body: @escaping @Sendable (_ database: any BookingDatabase, _ clock: any Clock<Duration>) async throws -> Void) async throws {
        switch self {
        case .real:
            try await withTestDatabase { test in try await body(test.bookings, ContinuousClock()) }
        case .simulated(let seed):
            try SimulatedContractWorld.run(seed: seed) { world, process in
                try await body(SimBookingDatabase(world: world, caller: process), SimClock(simulator: world.simulator, process: process))
            }
        }
    }
}

/// Runs a scenario as the task of one client process in a fresh simulated world on LAN
/// latencies, with `ContractFixture`'s rooms and nights as the inventory's seed data.
enum SimulatedContractWorld {
    static func run(seed: UInt64, _ body: @escaping @Sendable (SimWorld, ProcessContext) async throws -> Void) throws {
        let thrown = Mutex<(any Error)?>(nil)
        let (failure, _) = SimulationHarness.run(seed: seed, latency: .lan, rooms: ContractFixture.rooms.map(\.room),
                                                 availability: ContractFixture.availability) { world in
            do {
                try await body(world, SimulationHarness.process(1))
            } catch {
                thrown.withLock { $0 = error }
            }
        }
        if let failure { Issue.record("the simulated run failed (seed \(seed)): \(failure)") }
        if let error = thrown.withLock({ $0 }) { throw error }
    }
}

/// The real Redis is shared by every test (and every test process): this test's keys live under
/// a prefix of its own, so the scenarios can name the same keys in both worlds.
struct PrefixedLockService: LockService {
    let base: any LockService
    let prefix: String

    func acquire(key: String, token: String, ttl: Duration) async throws(LockError) -> Bool {
        try await base.acquire(key: prefix + key, token: token, ttl: ttl)
    }

    func release(key: String, token: String) async throws(LockError) -> Bool {
        try await base.release(key: prefix + key, token: token)
    }

    func holder(of key: String) async throws(LockError) -> String? {
        try await base.holder(of: prefix + key)
    }

    func nextFencingToken(_ key: String) async throws(LockError) -> Int {
        try await base.nextFencingToken(prefix + key)
    }
}
