import ArgumentParser
import BookingCore

/// `--variant` as every command reads it: names from the standard registry.
enum VariantOption {
    static let registry = VariantRegistry.standard

    static var help: ArgumentHelp { "Algorithm variant: \(registry.syntax)." }
    static var overrideHelp: ArgumentHelp { "Run this variant instead of the scenario's: \(registry.syntax)." }

    static func parse(_ name: String, option: String = "--variant") throws -> Variant {
        if let problem = registry.problem(name, option: option) { throw ValidationError(problem) }
        return registry.variant(named: name)!
    }
}
