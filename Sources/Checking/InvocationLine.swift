import BookingCore
import RunObservation
import Simulation

/// The VOPR-style first line of a simulating command's output: the seed and every setting that
/// shapes the run, so that any output can be reproduced. `profile`: the fault profile added on
/// the command line, if any; `extra`: the command's own `key=value` settings.
public func invocationLine(_ command: String, scenarioPath: String, scenario: Scenario, seed: UInt64, profile: String?,
                           extra: [String] = []) -> String {
    let fields = ["scenario=\(scenarioPath)", "seed=\(seed)", "variant=\(scenario.variant.rawValue)", "profile=\(profile ?? "none")",
                  "users=\(scenario.userCount)", "booking_replicas=\(scenario.bookingReplicas)",
                  "lock_ttl=\(formatSeconds(scenario.lock.ttl.nanoseconds))", "client_timeout=\(formatSeconds(scenario.clientTimeout.nanoseconds))",
                  "faults=\(scenario.faults.count)"]
    return "overbook \(command): " + (fields + extra).joined(separator: " ")
}
