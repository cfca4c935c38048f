import BookingCore
import Foundation

extension SearchReport {
    /// What `overbook check` prints: how far the search got and what it found. `bounds`: the
    /// exhaustive search's (its lines only appear for that strategy).
    public func summary(of scenario: Scenario, bounds: SearchBounds) -> String {
        var lines = ["", "CHECK \(strategy) of \(scenario.name), variant \(scenario.variant.rawValue), \(scenario.userCount) users, " +
                     "\(scenario.faults.count) fault specs"]
        if strategy == "exhaustive" {
            lines.append("  search: " + (completed ? "COMPLETED (every execution within the bounds)" : "NOT completed (\(stoppedBecause ?? "stopped"))"))
            if depthLimited { lines.append("  note: some executions reached --max-depth \(bounds.maxDepth); complete up to that depth only") }
            lines.append("  bounds: at most \(bounds.maxFaults) fault(s), \(bounds.maxPreemptions) preemption(s), \(bounds.maxDepth) branching decisions per execution")
            lines.append("  executions: \(executions) (\(prunedExecutions) stopped at an already explored state"
                         + (bounds.stateCaching ? ")" : "; state caching off)"))
            lines.append("  distinct states: " + (bounds.stateCaching ? "\(distinctStates)" : "not tracked (state caching off)"))
        } else {
            lines.append("  runs: \(executions)" + (stoppedBecause.map { " (\($0))" } ?? ""))
        }
        lines.append("  time: \(String(format: "%.3f", seconds)) s")
        lines.append("  executions breaking a safety invariant: \(failingExecutions) of \(executions)")
        if let runs = runsToFirstViolation, let seconds = secondsToFirstViolation {
            lines.append("  first violation after \(runs) execution(s), \(String(format: "%.3f", seconds)) s")
        }
        lines.append(counterexamples.isEmpty ? "  violations: none"
                     : "  violations: " + counterexamples.map(\.invariant.rawValue).joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
