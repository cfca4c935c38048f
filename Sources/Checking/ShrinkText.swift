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
