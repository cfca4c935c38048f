import BookingCore
import Foundation
import RunObservation
import Simulation

extension ShrunkCounterexample {
    /// `source` (the failing run's schedule) cut down to this counterexample. `faultSpecs`: how
    /// many the scenario had (all kept: the file names none).
    public func schedule(from source: ScheduleFile, faultSpecs: Int) -> ScheduleFile {
        var file = source
        file.users = users
        file.faults = keptFaults.count == faultSpecs ? nil : keptFaults
        file.violates = invariant.rawValue
        file.traceHash = hex(traceHash)
        file.choices = choices
        file.groupsSimultaneousTimers = groupsSimultaneousTimers
        return file
    }

    /// The scenario this counterexample runs: `scenario` (the one shrunk) with only the kept
    /// fault specs and users.
    public func scenario(shrunkFrom scenario: Scenario) -> Scenario {
        var small = scenario
        small.faults = keptFaults.map { scenario.faults[$0] }
        return small.keepingUsers(users)
    }

    /// What `overbook shrink` prints: each dimension before and after, the schedule and its
    /// replay command.
    public func summary(faultSpecs: Int, schedule path: String, replay: String) -> String {
        """

        SHRUNK \(invariant.rawValue) (\(String(format: "%.2f", seconds)) s, \(attempts) candidate runs; small configuration from \(foundBy))
          users:   \(originalUsers) -> \(users)
          fault specs: \(faultSpecs) -> \(keptFaults.count)
          faults:  \(originalFaultsFired) -> \(faultsFired) fired
          choices: \(originalChoices) -> \(choices.count)
          time:    \(formatSeconds(originalDuration)) -> \(formatSeconds(duration)) (virtual, until quiet)
          still violates: \(message)
          schedule: \(path) (trace hash \(hex(traceHash)))
          replay: \(replay)
        """
    }
}
