import Backends
import BookingCore

/// How `overbook serve` serves either service: the address, the PostgreSQL pool, sync workers,
/// and the endpoints a driver reads (`/_overbook/faults`, `/_overbook/timings`).
public struct ServeSettings: Sendable {
    public var host: String
    public var poolSize: Int
    public var workers: Int?
    public var backlog: Int
    public var faultControl: Bool
    public var recordTimings: Bool

    public init(host: String, poolSize: Int, workers: Int?, backlog: Int, faultControl: Bool, recordTimings: Bool) {
        (self.host, self.poolSize, self.workers, self.backlog) = (host, poolSize, workers, backlog)
        (self.faultControl, self.recordTimings) = (faultControl, recordTimings)
    }

    /// What is wrong with these settings and `port`, in the words of the options; `nil` if nothing.
    public func problem(port: Int) -> String? {
        guard (0...65_535).contains(port) else { return "--port must be 0...65535, got \(port)" }
        guard poolSize >= 1 else { return "--pool-size must be at least 1" }
        if let workers, workers < 1 { return "--workers must be at least 1, got \(workers)" }
        guard backlog >= 0 else { return "--backlog must be 0 or more, got \(backlog)" }
        guard !faultControl || FaultControlAddress.isLoopback(host) else {
            return "--fault-control lets anyone who reaches the port crash this service; it needs a loopback --host (127.0.0.1), got \(host)"
        }
        guard !recordTimings || FaultControlAddress.isLoopback(host) else {
            return "--record-timings serves what this service measured to anyone who reaches the port; it needs a loopback --host (127.0.0.1), got \(host)"
        }
        return nil
    }

    /// The listening line's note on workers and the driver's endpoints, so a log shows them.
    public var note: String {
        (workers.map { ", \($0) sync workers, backlog \(backlog)" } ?? "") + (faultControl ? ", fault control on /_overbook/faults" : "")
            + (recordTimings ? ", timings on /_overbook/timings" : "")
    }

    /// The sync workers `--workers` asks for, if any.
    public var syncWorkers: SyncWorkers? { workers.map { SyncWorkers(workers: $0, backlog: backlog) } }
}

extension ServiceInstance {
    /// `overbook serve inventory`: the inventory service on `settings.host:port` until signalled
    /// (with the seed's rooms inserted first when `seedData`); `announce` gets the listening line.
    public static func serveInventory(databaseURL: String, variant: Variant, seedData: Bool, settings: ServeSettings, port: Int,
                                      announce: @escaping @Sendable (String) -> Void) async throws {
        let decrement = variant.inventoryDecrement
        if seedData { try await seedInventory(databaseURL: databaseURL) }
        var options = InventoryServerOptions(databaseURL: databaseURL, decrement: decrement, poolSize: settings.poolSize,
                                             faultControl: settings.faultControl ? .inventory() : nil)
        options.workers = settings.syncWorkers
        options.timings = settings.recordTimings ? TimingRecorder() : nil
        let instance = try await inventory(options)
        try await instance.runUntilSignalled(host: settings.host, port: port) { bound in
            announce("overbook serve inventory: listening on http://\(settings.host):\(bound)/api (variant \(variant.rawValue), decrement \(decrement.rawValue)\(settings.note))")
        }
    }

    /// `overbook serve booking`: one booking replica on `settings.host:port` until signalled;
    /// `announce` gets the listening line.
    public static func serveBooking(_ options: BookingServerOptions, settings: ServeSettings, port: Int,
                                    announce: @escaping @Sendable (String) -> Void) async throws {
        var options = options
        options.poolSize = settings.poolSize
        options.faultControl = settings.faultControl ? .booking() : nil
        options.workers = settings.syncWorkers
        options.timings = settings.recordTimings ? TimingRecorder() : nil
        let instance = try await booking(options)
        try await instance.runUntilSignalled(host: settings.host, port: port) { [options] bound in
            announce("overbook serve booking: listening on http://\(settings.host):\(bound)/api (variant \(options.configuration.variant.rawValue), "
                     + "inventory \(options.inventoryURL)\(settings.note))")
        }
    }
}
