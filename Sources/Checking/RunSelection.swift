import BookingCore
import RunObservation
import Simulation

/// Which runs of a scenario file a simulator command makes, besides the seeds: the options
/// that change what a seed runs (`--variant`, `--profile` or `--swarm`, `--unavailable-means`),
/// as given.
public struct RunSelection: Hashable, Sendable {
    public var scenarioPath: String
    public var variant: String?
    public var profile: String?
    public var swarm: Bool
    public var unavailableMeans: UnavailableMeaning?

    public init(scenarioPath: String, variant: String?, profile: String?, swarm: Bool, unavailableMeans: UnavailableMeaning?) {
        (self.scenarioPath, self.variant, self.profile, self.swarm, self.unavailableMeans) = (scenarioPath, variant, profile, swarm, unavailableMeans)
    }

    /// What is wrong with `--profile` and `--swarm`, in the options' words; `nil` if nothing.
    public var problem: String? {
        if let profile, FaultProfile.named(profile) == nil {
            return "--profile must be one of: \(FaultProfile.all.map(\.name).joined(separator: ", ")); got '\(profile)'"
        }
        if swarm, let profile, profile != "swarm" {
            return "--swarm is the 'swarm' profile; it cannot be combined with --profile \(profile)"
        }
        return nil
    }

    /// The profile each seed applies (`--swarm` is the swarm profile).
    public var faultProfile: FaultProfile? { FaultProfile.selected(profile: profile, swarm: swarm) }

    /// The scenario as it runs for `seed`.
    public func scenario(_ base: Scenario, seed: UInt64) -> Scenario {
        faultProfile?.apply(to: base, seed: seed) ?? base
    }

    /// A schedule of `seed` alone (no choices listed): what shrinking a seed starts from.
    public func schedule(seed: UInt64, variant: Variant) -> ScheduleFile {
        ScheduleFile(scenario: scenarioPath, seed: seed, variant: variant.rawValue, profile: faultProfile?.name, swarm: swarm, choices: [])
    }

    /// The options that change what a seed runs, as a shard file records them.
    public var recorded: [String: String] {
        var options: [String: String] = [:]
        if let variant { options["variant"] = variant }
        if let profile { options["profile"] = profile }
        if swarm { options["swarm"] = "true" }
        if let unavailableMeans { options["unavailable-means"] = unavailableMeans.rawValue }
        return options
    }

    /// A test suite's name for this scenario and these options, e.g. `seed-experiment --swarm`.
    public func suiteName(_ base: Scenario) -> String {
        ([base.name] + Self.arguments(recorded: recorded)).joined(separator: " ")
    }

    /// The options a shard file recorded, as command-line arguments again.
    public static func arguments(recorded options: [String: String]) -> [String] {
        options.sorted { $0.key < $1.key }.flatMap { $0.value == "true" && $0.key == "swarm" ? ["--swarm"] : ["--\($0.key)", $0.value] }
    }

    /// How a seed of these options is replayed, for printed replay commands.
    public var replay: ReplayInvocation {
        ReplayInvocation(scenarioPath: scenarioPath, variant: variant, profile: profile, swarm: swarm, unavailableMeans: unavailableMeans?.rawValue)
    }
}

extension RunSelection {
    /// `overbook hashes`: each of `count` consecutive seeds of `base` from `first` with its
    /// trace hash, a line each on `emit`.
    public func hashes(_ base: Scenario, from first: UInt64, count: Int, emit: (String) -> Void) {
        for offset in 0..<max(0, count) {
            let seed = first &+ UInt64(offset)
            emit("\(seed) \(hex(ScenarioSimulation.run(scenario(base, seed: seed), seed: seed).traceHash))")
        }
    }
}
