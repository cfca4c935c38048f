import ArgumentParser
import Checking
import Reports

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold the shard files of a sharded sweep into one sweep's summary, exit status and report.",
        discussion: """
        Reads the files `overbook sweep --shard I/N --output FILE` wrote and prints what one \
        `overbook sweep` over the whole range prints (the same summary, the failures by \
        invariant with their first seeds and replay commands), writes the same HTML report, \
        shrinks the first seed that broke a safety invariant as sweep does (--no-shrink skips \
        it), and exits 1 if any seed broke an invariant. Refuses files of different scenarios, \
        options, seed ranges, shard counts or builds, and names missing and duplicate shards. \
        --output writes the merged result in the same format.

        Example:
          overbook merge results/shard-*.json --output results/all.json
        """
    )

    @Argument(help: "The shard files (JSON, from `overbook sweep --shard I/N --output FILE`).")
    var files: [String]

    @Option(help: "Also write the merged result, in the format of `sweep --output`.")
    var output: String?

    @Option(help: "Write the merged sweep as a JUnit XML test run, as `sweep --junit` does.")
    var junit: String?

    @OptionGroup var shrinkOptions: ShrinkOptions

    @OptionGroup var reportOptions: ReportOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give the shard files to merge") }
    }

    func run() throws {
        let merged = try exitingWithStatus2(on: SweepMergeError.self) { try SweepRecordFile.merge(files) }
        let options = try ScenarioOptions.recorded(merged.options, scenario: merged.scenarioPath)
        let base = try options.loadBase(text: merged.scenarioText)
        let passed = try asUsageError(on: OutputFileError.self) {
            try exitingWithStatus2(describing: Counterexamples.describe) {
                try options.runs(base, reportOptions).merged(merged, files: files.count, outputPath: output, junitPath: junit,
                                                             shrink: shrinkOptions.shrink(options, reportOptions))
            }
        }
        if !passed { throw ExitCode(1) }
    }
}
