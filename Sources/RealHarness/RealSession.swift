import BookingCore
import Foundation
import Synchronization

/// Starts the real stack for some scenarios, runs `body`, and stops everything afterwards,
/// whether `body` succeeded, failed or the user pressed Ctrl-C (then the process exits with
/// 128 + the signal once everything is stopped).
public enum RealSession {
    /// `progress`: one line at a time about what is being started or stopped (and the signal
    /// notice). Blocks the calling thread, which must not be one of the cooperative pool's.
    public static func with<T: Sendable>(_ locations: BackendLocations, scenarios: [Scenario], users: Int, armFaults: Bool = false,
                                         recordTimings: Bool = false, progress: @escaping @Sendable (String) -> Void,
                                         _ body: @escaping @Sendable (RealStack) async throws -> T) throws -> T {
        try supervised(progress: progress, start: {
            try await RealStack.start(locations, users: users, progress: progress)
        }, stop: { await $0.shutdown() }) { stack in
            for scenario in scenarios { try await stack.seed(scenario) }
            let first = scenarios[0]
            // Fault proxies and fault points only for a scenario with faults: a plain run is wired as before.
            try await stack.startServices(variant: first.variant, configuration: first.bookingConfiguration,
                                          replicas: first.bookingReplicas, armFaults: armFaults || !first.faults.isEmpty,
                                          bookingServing: first.bookingServing, inventoryServing: first.inventoryServing,
                                          recordTimings: recordTimings, progress: progress)
            let result = try await body(stack)
            progress("stopping the services and servers...")
            return result
        }
    }

    /// Throwaway Redis and PostgreSQL for `body`, stopped afterwards and on Ctrl-C, like `with`.
    public static func withServers<T: Sendable>(progress: @escaping @Sendable (String) -> Void,
                                                _ body: @escaping @Sendable (ThrowawayServers) async throws -> T) throws -> T {
        try supervised(progress: progress, start: { try await ThrowawayServers.start(progress: progress) },
                       stop: { await $0.stopAll() }, body)
    }

    /// Starts something, runs `body` with it and stops it, whether `body` returns or throws; a
    /// signal stops it too, and the process then exits (see `InterruptHandler`).
    private static func supervised<Resource: Sendable, T: Sendable>(
        progress: @escaping @Sendable (String) -> Void,
        start: @escaping @Sendable () async throws -> Resource,
        stop: @escaping @Sendable (Resource) async -> Void,
        _ body: @escaping @Sendable (Resource) async throws -> T
    ) throws -> T {
        let current = Mutex<Resource?>(nil)
        let interrupt = InterruptHandler(announce: progress) {
            if let resource = current.withLock({ $0 }) { await stop(resource) }
        }
        defer { interrupt.disarm() }
        // After a signal, whatever the run returns or throws is an effect of the servers
        // going away: wait for the handler to finish stopping them and exit.
        defer { while interrupt.hasFired { sleep(1) } }
        return try runBlocking {
            let resource = try await start()
            current.withLock { $0 = resource }
            do {
                let result = try await body(resource)
                await stop(resource)
                return result
            } catch {
                await stop(resource)
                throw error
            }
        }
    }
}
