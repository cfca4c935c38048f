import BookingCore
import Checking
import Foundation
import Reports
import RunObservation
import Scenarios

/// The calibrated scenario could not be written as measured; `description` says why.
public struct CalibrationError: Error, CustomStringConvertible {
    public let description: String
}

extension Calibration {
    /// `overbook calibrate`: measures `scenario` (read from `text`, the file at `scenarioPath`)
    /// without its faults `runs` times on the stack that `session` starts for the body it is
    /// given, writes the calibrated copy of the file to `outputPath`, and compares it, simulated
    /// for `simulatedRuns` seeds, with the calibration runs. Throws `CalibrationError` when the
    /// copy cannot be written or does not read back as measured, `ScenarioError` when it does
    /// not read back at all.
    public static func calibrate(_ scenario: Scenario, text: String, scenarioPath: String, runs: Int, outputPath: String, simulatedRuns: Int,
                                 throwawayBackends: Bool, output: CommandOutput,
                                 in session: (_ measured: Scenario, _ body: @escaping @Sendable (RealStack) async throws -> Calibration) throws -> Calibration)
        throws {
        output.line("overbook calibrate: scenario=\(scenarioPath) variant=\(scenario.variant.rawValue) users=\(scenario.userCount) "
                    + "booking_replicas=\(scenario.bookingReplicas) runs=\(runs) backends=\(throwawayBackends ? "throwaway" : "given")")
        if !scenario.faults.isEmpty {
            output.line("the scenario's \(scenario.faults.count) fault(s) are left out while measuring; the written scenario keeps them")
        }
        var measured = scenario
        measured.faults = []
        output.flush()
        let calibration = try session(measured) { [measured] stack in
            try await Calibration.measure(stack: stack, scenario: measured, runs: runs) { run, verdict, _ in
                output.progress("run \(run)/\(runs): \(verdict.statusSummary); p95 \(formatSeconds(verdict.latency.p95))\n")
            }
        }
        output.line(calibration.table)
        let calibrated = calibration.applied(to: measured)
        let header = ["Calibrated by `overbook calibrate \(scenarioPath) --runs \(runs)` on \(ISO8601DateFormatter().string(from: Date())):",
                      "latency and serving.*.service_time measured on the real stack (loopback Redis and PostgreSQL);",
                      "everything else as in \(scenarioPath)."]
        let written = ScenarioEditing.calibrated(text, latency: calibrated.latency, booking: calibrated.bookingServing,
                                                 inventory: calibrated.inventoryServing, header: header)
        // What is written must read back as the scenario measured, with the new figures.
        let reread = try ScenarioLoader.parse(yaml: written, file: outputPath)
        guard reread.latency == calibrated.latency, reread.bookingServing == calibrated.bookingServing,
              reread.inventoryServing == calibrated.inventoryServing else {
            throw CalibrationError(description: "the calibrated scenario did not read back as written; please report this with \(scenarioPath)")
        }
        do {
            try written.write(toFile: outputPath, atomically: true, encoding: .utf8)
        } catch {
            throw CalibrationError(description: "cannot write \(outputPath): \(error.localizedDescription)")
        }
        output.line("wrote \(outputPath)")
        let simulated = RealReport.simulatedCounterparts(of: calibrated, runs: simulatedRuns)
        output.line(comparison(real: calibration.verdicts, simulated: simulated))
        output.line("next: overbook real \(shellQuoted(outputPath)) --runs 20   (real and calibrated-simulated side by side in its report)")
    }
}
