import BookingCore
import Foundation

/// Lock tokens in real mode: random UUIDs, as the seed's `str(uuid.uuid4())`. (The simulator
/// draws them from its seeded stream instead; that is why the algorithm never calls `UUID()`.)
public struct UUIDIdentifiers: IdentifierSource {
    public init() {}
    public func lockToken() -> String { UUID().uuidString.lowercased() }
}

/// Background work in real mode (the crash-safe variant's recovery worker): an ordinary task
/// that outlives the request that started it.
public struct TaskBackgroundWork: BackgroundWork {
    public init() {}
    public func start(_ work: @escaping @Sendable () async -> Void) {
        Task { await work() }
    }
}

/// A setting no running service could work with (a URL that is not one, a port out of range).
/// Raised before any traffic, so a typo fails at start-up with a message saying what to pass.
public struct ServiceConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
