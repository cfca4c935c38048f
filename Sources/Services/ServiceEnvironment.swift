import BookingCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A service setting that is either given by its flag or taken from an environment variable
/// (so a deployment can keep database URLs out of the command line).
public struct EnvironmentSetting: Hashable, Sendable {
    public let variable: String
    /// A value to show in the message when neither is given.
    public let example: String

    public init(variable: String, example: String) {
        self.variable = variable
        self.example = example
    }

    /// The flag's value, else the environment's; `option` is the flag's name, for the message.
    public func value(flag: String?, option: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServiceSettingError) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let value = environment[variable], !value.isEmpty { return value }
        throw ServiceSettingError("\(option) is required (or set \(variable)), e.g. \(option) \(example)")
    }

    /// The flag's value, else the environment's, else `fallback`: a setting with a default.
    public func value(flag: String?, fallback: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let value = environment[variable], !value.isEmpty { return value }
        return fallback
    }

    /// Whether neither the flag nor the environment gives a value.
    public func isUnset(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        (flag ?? "").isEmpty && (environment[variable] ?? "").isEmpty
    }
}

/// A service setting that cannot be used, in words that say what to give instead.
public struct ServiceSettingError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The environment the services read: where their databases and Redis are, and the parent
/// whose exit stops a child service.
public enum ServiceEnvironment {
    public static let inventoryDatabaseURL = EnvironmentSetting(variable: "OVERBOOK_INVENTORY_DATABASE_URL",
                                                                example: "postgresql://overbook@127.0.0.1:5432/inventory_db")
    public static let bookingDatabaseURL = EnvironmentSetting(variable: "OVERBOOK_BOOKING_DATABASE_URL",
                                                              example: "postgresql://overbook@127.0.0.1:5432/booking_db")
    public static let redisURL = EnvironmentSetting(variable: "OVERBOOK_REDIS_URL", example: "redis://127.0.0.1:6379")
    /// The booking service's view of the inventory's API root (a service name in a container network).
    public static let inventoryURL = EnvironmentSetting(variable: "OVERBOOK_INVENTORY_URL", example: "http://127.0.0.1:5001/api")
    /// The booking algorithm a service runs; both services of one deployment must agree.
    public static let variant = EnvironmentSetting(variable: "OVERBOOK_VARIANT", example: "seed")
    /// What `overbook health` asks when given no `--url` (an image's HEALTHCHECK sets it).
    public static let healthURL = EnvironmentSetting(variable: "OVERBOOK_HEALTH_URL", example: "http://127.0.0.1:5002/api/health")
    /// Set by `overbook real` for the services it starts: its process id.
    public static let parentProcessVariable = "OVERBOOK_PARENT_PID"

    /// Once the process named by `OVERBOOK_PARENT_PID` is gone, calls `announce` and exits: a
    /// child of `overbook real` then stops however its parent ended (a `kill -9` runs no
    /// clean-up of its own). Does nothing when the variable is not set.
    public static func exitWithParent(environment: [String: String] = ProcessInfo.processInfo.environment,
                                      announce: @escaping @Sendable (String) -> Void) {
        guard let parent = environment[parentProcessVariable].flatMap(Int32.init) else { return }
        Thread.detachNewThread {
            while getppid() == parent { sleep(1) }
            announce("parent process \(parent) is gone; stopping")
            exit(0)
        }
    }

    /// The variant a service runs: `--variant`'s name, else `OVERBOOK_VARIANT`'s, else the seed,
    /// from `registry`; a name it does not know is an error naming where the name came from.
    public static func selectedVariant(flag: String?, registry: VariantRegistry,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServiceSettingError) -> Variant {
        let name = variant.value(flag: flag, fallback: "seed", environment: environment)
        let fromEnvironment = (flag ?? "").isEmpty && !variant.isUnset(flag: nil, environment: environment)
        if let problem = registry.problem(name, option: fromEnvironment ? variant.variable : "--variant") { throw ServiceSettingError(problem) }
        return registry.variant(named: name)!
    }

    /// `100,200,400` as durations: the pauses after each failed lock attempt. `option` names the
    /// flag in the message.
    public static func milliseconds(_ list: String, option: String) throws(ServiceSettingError) -> [Duration] {
        let parts = list.split(separator: ",")
        let values = parts.compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 >= 0 }) else {
            throw ServiceSettingError("\(option) must be non-negative milliseconds separated by commas, e.g. 100,200,400; got '\(list)'")
        }
        return values.map { .milliseconds($0) }
    }
}
