import ArgumentParser
import Foundation
import RealHarness
import Scenarios

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure the real stack's latencies and service times and write them into a copy of the scenario.",
        discussion: """
        Runs the scenario on the real stack (as `overbook real` does, without its faults) with \
        every service timing its own traffic (`serve --record-timings`): each call to Redis, \
        PostgreSQL and the inventory, and each request's own handling time with its waits \
        (calls, back-off sleeps, queueing for a worker) taken out; the driver times its confirms \
        and subtracts the booking service's own time (its Server-Timing header). Each hop's \
        one-way delay and each service's handling time are fitted to the scenario format's \
        distribution and written, with the rest of the scenario file unchanged, to --output. \
        Then the calibrated scenario is simulated and its latency percentiles and 503 mix \
        printed beside the calibration runs'. `overbook real OUTPUT --runs N` then shows real \
        and calibrated-simulated side by side in its report.

        Examples:
          overbook calibrate scenarios/seed-gunicorn.yaml --output seed-gunicorn.calibrated.yaml
          overbook real seed-gunicorn.calibrated.yaml --runs 20
          overbook run seed-gunicorn.calibrated.yaml --runs 1000
        """
    )

    @Argument(help: "A scenario file (YAML), e.g. scenarios/seed-gunicorn.yaml.")
    var scenario: String

    @Option(help: "Real runs to measure.")
    var runs = 5

    @Option(help: "Where to write the calibrated scenario (default: <scenario name>.calibrated.yaml in the current directory).")
    var output: String?

    @Option(help: "Seeds to simulate the calibrated scenario for, to compare with the real runs.")
    var simulatedRuns = 1_000

    @OptionGroup var backends: BackendOptions

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard simulatedRuns >= 1 else { throw ValidationError("--simulated-runs must be at least 1") }
    }

    func run() throws {
        let scenario = try loadScenario(self.scenario)
        let text = try String(contentsOfFile: self.scenario, encoding: .utf8)
        try asUsageError(on: CalibrationError.self) {
            try exitingWithStatus2(on: ScenarioError.self) {
                try Calibration.calibrate(scenario, text: text, scenarioPath: self.scenario, runs: runs, outputPath: output ?? "\(scenario.name).calibrated.yaml",
                                          simulatedRuns: simulatedRuns, throwawayBackends: backends.locations.noneGiven, output: Console.output) { measured, body in
                    try withRealStack(backends.locations, scenarios: [measured], users: measured.userCount, recordTimings: true, command: "calibrate", body)
                }
            }
        }
    }
}
