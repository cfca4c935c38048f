/// A configuration value (URL, pool size, setting name) that no connection attempt could fix.
/// Raised when the service is built, before any traffic, so a typo fails fast and loudly.
public struct BackendConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
