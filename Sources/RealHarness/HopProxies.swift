import Backends
import BookingCore
import Foundation

/// The fault proxies of a run whose scenario has faults: one per hop and caller, so a fault
/// can hit one replica's Redis link and not another's. The driver plays the client to the
/// booking replicas directly (no proxy on client-booking); every other hop goes through one.
public struct HopProxies: Sendable {
    /// inventory -> inventory_db.
    public let inventoryDatabase: FaultProxy
    /// booking-N -> Redis, at index N - 1; likewise the two below.
    public private(set) var bookingRedis: [FaultProxy] = []
    /// booking-N -> booking_db.
    public private(set) var bookingDatabase: [FaultProxy] = []
    /// booking-N -> inventory.
    public private(set) var bookingInventory: [FaultProxy] = []

    init(inventoryDatabase: FaultProxy) {
        self.inventoryDatabase = inventoryDatabase
    }

    mutating func addReplica(redis: FaultProxy, database: FaultProxy, inventory: FaultProxy) {
        bookingRedis.append(redis)
        bookingDatabase.append(database)
        bookingInventory.append(inventory)
    }

    /// Every proxy carrying `hop`, with the booking replica (1-based) it serves (`nil` for the
    /// inventory's own hop); none for client-booking.
    public func proxies(on hop: Hop) -> [(replica: Int?, proxy: FaultProxy)] {
        func numbered(_ list: [FaultProxy]) -> [(replica: Int?, proxy: FaultProxy)] { list.enumerated().map { ($0.offset + 1, $0.element) } }
        switch hop {
        case .clientBooking: return []
        case .bookingRedis: return numbered(bookingRedis)
        case .bookingPostgres: return numbered(bookingDatabase)
        case .bookingInventory: return numbered(bookingInventory)
        case .inventoryPostgres: return [(nil, inventoryDatabase)]
        }
    }

    /// The proxy between two processes, in either order: booking-N and redis, booking_db or
    /// inventory; inventory and inventory_db. `nil` where real mode has no proxied hop.
    public func between(_ a: ProcessSelector, _ b: ProcessSelector) -> FaultProxy? {
        func replicaHop(_ index: Int, _ other: ProcessSelector) -> FaultProxy? {
            let list: [FaultProxy]
            switch other {
            case .redis: list = bookingRedis
            case .bookingDatabase: list = bookingDatabase
            case .inventory: list = bookingInventory
            default: return nil
            }
            return list.indices.contains(index - 1) ? list[index - 1] : nil
        }
        switch (a, b) {
        case (.booking(let index?), let other), (let other, .booking(let index?)): return replicaHop(index, other)
        case (.inventory, .inventoryDatabase), (.inventoryDatabase, .inventory): return inventoryDatabase
        default: return nil
        }
    }

    /// The proxy in front of the database connections of `process` (booking-N or inventory).
    public func databaseProxy(of process: ProcessSelector) -> FaultProxy? {
        switch process {
        case .booking(let index?): bookingDatabase.indices.contains(index - 1) ? bookingDatabase[index - 1] : nil
        case .inventory: inventoryDatabase
        default: nil
        }
    }

    var all: [FaultProxy] { [inventoryDatabase] + bookingRedis + bookingDatabase + bookingInventory }

    /// Chunks still held back on any hop: messages in flight.
    public var delayedChunks: Int { all.reduce(0) { $0 + $1.delayedChunks } }

    /// Back to plain forwarding everywhere: no mode, no per-call faults.
    public func healAll() {
        for proxy in all {
            proxy.onEachCall(nil)
            proxy.set(.pass)
        }
    }

    /// A proxy in front of the server `url` names, and the same URL pointed at the proxy.
    static func proxy(in url: String, what: String) async throws -> (proxy: FaultProxy, url: String) {
        let defaultPorts = ["postgresql": 5432, "postgres": 5432, "redis": 6379, "http": 80]
        guard var components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty,
              let port = components.port ?? defaultPorts[scheme] else {
            throw RealModeError("the fault proxies need a host:port URL for \(what), got \(redacted(url)); give a TCP URL, or run the scenario without faults")
        }
        let proxy = try await FaultProxy.start(upstreamHost: host, upstreamPort: port)
        components.host = "127.0.0.1"
        components.port = proxy.port
        guard let proxied = components.string else {
            await proxy.stop()
            throw RealModeError("could not point \(redacted(url)) at the fault proxy")
        }
        return (proxy, proxied)
    }
}
