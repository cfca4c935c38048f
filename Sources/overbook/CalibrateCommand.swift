import ArgumentParser
import BookingCore
import Checking
import Foundation
import RealHarness
import Reports
import RunObservation
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
        var scenario = try loadScenario(self.scenario)
        let text = try String(contentsOfFile: self.scenario, encoding: .utf8)
        let output = self.output ?? "\(scenario.name).calibrated.yaml"
        print("overbook calibrate: scenario=\(self.scenario) variant=\(scenario.variant.rawValue) users=\(scenario.userCount) "
              + "booking_replicas=\(scenario.bookingReplicas) runs=\(runs) backends=\(backends.locations.noneGiven ? "throwaway" : "given")")
        if !scenario.faults.isEmpty {
            print("the scenario's \(scenario.faults.count) fault(s) are left out while measuring; the written scenario keeps them")
        }
        scenario.faults = []
        fflush(nil)
        let (runs, measured) = (self.runs, scenario)
        let calibration = try withRealStack(backends.locations, scenarios: [measured], users: measured.userCount, recordTimings: true,
                                            command: "calibrate") { stack in
            try await Calibration.measure(stack: stack, scenario: measured, runs: runs) { run, verdict, _ in
                Console.progress("run \(run)/\(runs): \(verdict.statusSummary); p95 \(formatSeconds(verdict.latency.p95))\n")
            }
        }
        print(calibration.table)
        let calibrated = calibration.applied(to: scenario)
        let header = ["Calibrated by `overbook calibrate \(self.scenario) --runs \(runs)` on \(ISO8601DateFormatter().string(from: Date())):",
                      "latency and serving.*.service_time measured on the real stack (loopback Redis and PostgreSQL);",
                      "everything else as in \(self.scenario)."]
        let written = ScenarioEditing.calibrated(text, latency: calibrated.latency, booking: calibrated.bookingServing,
                                                 inventory: calibrated.inventoryServing, header: header)
        // What is written must read back as the scenario measured, with the new figures.
        let reread = try exitingWithStatus2(on: ScenarioError.self) { try ScenarioLoader.parse(yaml: written, file: output) }
        guard reread.latency == calibrated.latency, reread.bookingServing == calibrated.bookingServing,
              reread.inventoryServing == calibrated.inventoryServing else {
            throw ValidationError("the calibrated scenario did not read back as written; please report this with \(self.scenario)")
        }
        do {
            try written.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write \(output): \(error.localizedDescription)")
        }
        print("wrote \(output)")
        let simulated = RealReport.simulatedCounterparts(of: calibrated, runs: simulatedRuns)
        print(Calibration.comparison(real: calibration.verdicts, simulated: simulated))
        print("next: overbook real \(shellQuoted(output)) --runs 20   (real and calibrated-simulated side by side in its report)")
    }
}
