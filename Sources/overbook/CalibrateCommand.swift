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
        every service timing its calls to Redis, PostgreSQL and the inventory and its own \
        handling with every wait taken out (`serve --record-timings`); fits each hop's one-way \
        delay and each service's handling time to the scenario format's distributions and \
        writes them, the rest of the file unchanged, to --output. Then simulates the calibrated \
        scenario and prints its latency percentiles and 503 mix beside the real runs'.

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
