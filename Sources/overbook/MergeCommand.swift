import ArgumentParser
import Checking
import Foundation
import Reports

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold the shard files of a sharded sweep into one sweep's summary, exit status and report.",
        discussion: """
        Reads the files `overbook sweep --shard I/N --output FILE` wrote and prints what one \
        `overbook sweep` over the whole range prints (the same summary, the failures by \
        invariant with their first seeds and replay commands), writes the same HTML report, \
        and exits 1 if any seed broke an invariant. Refuses files of different scenarios, \
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

    @OptionGroup var reportOptions: ReportOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give the shard files to merge") }
    }

    func run() throws {
        try report(try exitingWithStatus2(on: SweepMergeError.self) { try SweepRecordFile.merge(files) })
    }

    private func report(_ merged: SweepRecord) throws {
        let options = try ScenarioOptions.recorded(merged.options, scenario: merged.scenarioPath)
        let base = try options.loadBase(text: merged.scenarioText)
        let seeds = merged.seeds.range
        let batch = merged.summary
        print("overbook merge: \(files.count) shard file(s) of \(merged.scenarioPath) seeds \(seeds.lowerBound)..\(seeds.upperBound)"
              + (merged.options.isEmpty ? "" : " (\(merged.options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))")
              + (merged.stoppedEarly ? "; some shards stopped at a failing seed" : ""))
        print(SummaryText.render(batch, scenario: base, firstSeed: seeds.lowerBound))
        reportOptions.publisher.batch(batch, base: base, firstSeed: seeds.lowerBound, replay: options.replay,
                                      scenarioForSeed: { options.scenario(base, seed: $0) }, wallSeconds: merged.elapsedSeconds)
        print(SweepMergeText.failures(batch, firstSeed: seeds.lowerBound, replay: options.replay.seed))
        if let output { try SweepRecordFile.write(merged, to: output) }
        if let junit {
            try writeJUnit(JUnitReport.sweep(batch, suite: options.suiteName(base), seeds: seeds, elapsedSeconds: merged.elapsedSeconds,
                                             replay: options.replay.seed), to: junit)
        }
        if batch.firstFailingSeed != nil { throw ExitCode(1) }
    }
}
