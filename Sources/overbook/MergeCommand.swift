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

/// This executable's GNU build id (the linker's `.note.gnu.build-id`): two shard files come
/// from the same build exactly when they carry the same one. Read from the ELF file itself
/// (`/proc/self/exe`): its program headers, then the notes of each `PT_NOTE` segment.
enum BuildIdentity {
    static let current: String = buildID(ofExecutable: "/proc/self/exe") ?? "unknown (no GNU build id in \(CommandLine.arguments[0]))"

    static func buildID(ofExecutable path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count), data.count == count else { return nil }
            return Array(data)
        }
        func integer<T: FixedWidthInteger>(_ bytes: [UInt8], _ at: Int, _: T.Type) -> T {
            bytes[at..<(at + MemoryLayout<T>.size)].reversed().reduce(T.zero) { $0 << 8 | T($1) }
        }
        // A 64-bit little-endian ELF file, as every executable this builds for is.
        guard let header = read(0, 64), header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1 else { return nil }
        let (programHeaders, entrySize, entries) = (integer(header, 32, UInt64.self), Int(integer(header, 54, UInt16.self)), Int(integer(header, 56, UInt16.self)))
        for entry in 0..<entries {
            guard let program = read(programHeaders + UInt64(entry * entrySize), entrySize), integer(program, 0, UInt32.self) == 4 /* PT_NOTE */,
                  let notes = read(integer(program, 8, UInt64.self), Int(integer(program, 32, UInt64.self))) else { continue }
            var offset = 0
            let aligned = { (size: Int) in (size + 3) & ~3 }
            while offset + 12 <= notes.count {
                let (nameSize, descriptionSize, type) = (Int(integer(notes, offset, UInt32.self)), Int(integer(notes, offset + 4, UInt32.self)),
                                                         integer(notes, offset + 8, UInt32.self))
                let description = offset + 12 + aligned(nameSize)
                guard description + descriptionSize <= notes.count else { break }
                if type == 3 /* NT_GNU_BUILD_ID */, nameSize == 4 {
                    return notes[description..<(description + descriptionSize)].map { String(format: "%02x", $0) }.joined()
                }
                offset = description + aligned(descriptionSize)
            }
        }
        return nil
    }
}
