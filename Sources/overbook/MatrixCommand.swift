import ArgumentParser
import Checking
import Foundation
import RealHarness

struct MatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Every variant under every fault profile: which invariants held.",
        discussion: """
        Runs --seeds seeds per cell (variant x fault profile) on the matrix workload and prints \
        a table; each failing cell names its invariants and first counterexample seed, with the \
        command that replays it. The same seeds give the same table.

        Profiles: \(FaultProfile.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).

        Examples:
          overbook matrix
          overbook matrix --seeds 500 --jobs 2
          overbook matrix --scenario scenarios/overlapping-stays.yaml --profiles none,crashes
        """
    )

    @Option(help: "The workload every cell runs.")
    var scenario = "scenarios/matrix.yaml"

    @Option(help: "Seeds per cell, starting at --first-seed.")
    var seeds: Int = 100

    @Option(help: "The first seed of every cell.")
    var firstSeed: UInt64 = 1

    @Option(help: "Comma-separated fault profiles (default: all).")
    var profiles: String?

    @Option(help: "Comma-separated variants (default: \(VariantOption.registry.variants.map(\.rawValue).joined(separator: ", "))).")
    var variants: String?

    @Option(help: "Worker threads.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Write the matrix as a JUnit XML test run: per variant and profile, one test case per invariant.")
    var junit: String?

    @OptionGroup var reportOptions: ReportOptions

    func run() throws {
        let base = try loadScenario(scenario)
        let profiles = try asUsageError(on: UnknownFaultProfile.self) { try FaultProfile.named(list: self.profiles) }
        let variants = try self.variants?.split(separator: ",").map { try VariantOption.parse(String($0), option: "--variants") }
            ?? VariantOption.registry.variants
        let seedRange = firstSeed...(firstSeed + UInt64(max(1, seeds)) - 1)
        let passed = try asUsageError(on: OutputFileError.self) {
            try MatrixCell.matrix(base, scenarioPath: scenario, variants: variants, profiles: profiles, seeds: seedRange, jobs: jobs, junitPath: junit,
                                  reports: reportOptions.publisher, output: Console.output, now: wallSeconds())
        }
        if !passed { throw ExitCode(1) }
    }
}
