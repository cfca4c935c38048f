import BookingCore
import Foundation
import RunObservation

/// `sweep --shard I/N`: the I-th of N contiguous, deterministic slices of a seed range, so N
/// machines (a Kubernetes Indexed Job, a Slurm array) each run one and `overbook merge` folds
/// their shard files into the summary one sweep over the whole range gives.
public struct SweepShard: Hashable, Sendable, Codable, CustomStringConvertible {
    /// 1 ... count.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (1...count).contains(index))
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The variables `auto/N` reads the index from, 0-based, in this order: a Kubernetes
    /// Indexed Job's completion index, then a Slurm array's task id (with `--array=0-(N-1)`).
    public static let indexVariables = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]

    /// `I/N` (1-based) or `auto/N` (the index from `environment`, see `indexVariables`).
    public static func parse(_ text: String, environment: [String: String]) throws(SweepShardError) -> SweepShard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[1]), count >= 1 else {
            throw SweepShardError("--shard must be I/N or auto/N with N >= 1, e.g. 2/8; got '\(text)'")
        }
        if parts[0] == "auto" {
            guard let (variable, value) = indexVariables.lazy.compactMap({ name in environment[name].map { (name, $0) } }).first else {
                throw SweepShardError("--shard auto/\(count) takes its index from \(indexVariables.joined(separator: " or ")), and neither is set; "
                                      + "pass --shard I/\(count) instead")
            }
            guard let zeroBased = Int(value), (0..<count).contains(zeroBased) else {
                throw SweepShardError("--shard auto/\(count): \(variable)=\(value) is not an index 0...\(count - 1)")
            }
            return SweepShard(index: zeroBased + 1, count: count)
        }
        guard let index = Int(parts[0]), (1...count).contains(index) else {
            throw SweepShardError("--shard \(text): the index must be 1...\(count) (or auto)")
        }
        return SweepShard(index: index, count: count)
    }

    /// `--shard` (`nil`: not given) parsed, and the seeds of `seeds` it leaves this process
    /// (all of them without a shard; `nil` for a shard that gets none).
    public static func select(_ text: String?, of seeds: ClosedRange<UInt64>, environment: [String: String])
        throws(SweepShardError) -> (shard: SweepShard?, seeds: ClosedRange<UInt64>?) {
        guard let text else { return (nil, seeds) }
        let shard = try parse(text, environment: environment)
        return (shard, try shard.slice(of: seeds))
    }

    /// This shard's seeds of `seeds`: slices are contiguous, in order, and differ in size by
    /// at most one seed; `nil` when there are more shards than seeds and this one gets none.
    public func slice(of seeds: ClosedRange<UInt64>) throws(SweepShardError) -> ClosedRange<UInt64>? {
        guard !(seeds.lowerBound == 0 && seeds.upperBound == .max) else {
            throw SweepShardError("the seed range 0..\(UInt64.max) is too large to shard; give a smaller one")
        }
        let total = seeds.upperBound - seeds.lowerBound + 1
        let (share, extra) = (total / UInt64(count), total % UInt64(count))
        let before = UInt64(index - 1)
        let start = seeds.lowerBound + before * share + min(before, extra)
        let size = share + (before < extra ? 1 : 0)
        return size == 0 ? nil : start...(start + size - 1)
    }
}

public struct SweepShardError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What `sweep --output FILE.json` writes: the sweep's whole result, and enough about how it
/// was made (the scenario file's text, the options, the build) for `overbook merge` to refuse
/// shards that do not belong together. Documented in `docs/sweep-output.md`.
public struct SweepRecord: Codable, Sendable {
    public static let currentFormat = "overbook-sweep/1"

    public var format: String
    /// The executable's build (its GNU build id), so shards of different builds are refused.
    public var build: String
    /// The scenario file as given and its text.
    public var scenarioPath: String
    public var scenarioText: String
    /// The options that change what a seed runs: variant, profile, swarm, unavailable-means.
    public var options: [String: String]
    /// The whole range the sweep (or its shards together) covers.
    public var seeds: SeedSpan
    public var shard: SweepShard?
    /// The seeds this file ran (`nil`: its shard got none).
    public var ran: SeedSpan?
    /// Stopped at a failing seed (`--stop-on-failure`, `--stop-on`) before the end of its range.
    public var stoppedEarly: Bool
    public var summary: BatchSummary
    /// Wall-clock seconds the sweep took (for the merged throughput line only).
    public var elapsedSeconds: Double

    public struct SeedSpan: Codable, Hashable, Sendable {
        public var first: UInt64
        public var last: UInt64
        public init(_ range: ClosedRange<UInt64>) { (first, last) = (range.lowerBound, range.upperBound) }
        public var range: ClosedRange<UInt64> { first...last }
    }

    enum CodingKeys: String, CodingKey {
        case format, build, scenarioPath = "scenario_path", scenarioText = "scenario_text", options, seeds, shard, ran
        case stoppedEarly = "stopped_early", summary, elapsedSeconds = "elapsed_seconds"
    }

    public init(build: String, scenarioPath: String, scenarioText: String, options: [String: String], seeds: ClosedRange<UInt64>,
                shard: SweepShard?, ran: ClosedRange<UInt64>?, stoppedEarly: Bool, summary: BatchSummary, elapsedSeconds: Double) {
        format = Self.currentFormat
        self.build = build
        self.scenarioPath = scenarioPath
        self.scenarioText = scenarioText
        self.options = options
        self.seeds = SeedSpan(seeds)
        self.shard = shard
        self.ran = ran.map(SeedSpan.init)
        self.stoppedEarly = stoppedEarly
        self.summary = summary
        self.elapsedSeconds = elapsedSeconds
    }

    /// Folds shard files into one record of the whole range, after checking they belong
    /// together: one format, build, scenario text and option set, one range and shard count,
    /// every shard exactly once. Every problem is listed, not only the first.
    public static func merge(_ records: [(file: String, record: SweepRecord)]) throws(SweepMergeError) -> SweepRecord {
        guard let (firstFile, first) = records.first else { throw SweepMergeError(["no shard files given"]) }
        var problems: [String] = []
        for (file, record) in records.dropFirst() {
            func differs(_ what: String, _ mine: String, _ theirs: String) {
                problems.append("\(file): \(what) \(theirs), but \(firstFile) has \(mine)")
            }
            if record.format != first.format { differs("format", first.format, record.format) }
            if record.build != first.build { differs("build", first.build, record.build) }
            if record.scenarioText != first.scenarioText { differs("scenario", "\(first.scenarioPath) as it was", "\(record.scenarioPath) with other contents") }
            if record.options != first.options { differs("options", describe(first.options), describe(record.options)) }
            if record.seeds != first.seeds { differs("seed range", "\(first.seeds.first)..\(first.seeds.last)", "\(record.seeds.first)..\(record.seeds.last)") }
            if record.shard?.count != first.shard?.count {
                differs("shard count", first.shard.map { "\($0.count)" } ?? "none (a whole sweep)", record.shard.map { "\($0.count)" } ?? "none (a whole sweep)")
            }
        }
        let count = first.shard?.count ?? 1
        var byIndex: [Int: [String]] = [:]
        for (file, record) in records { byIndex[record.shard?.index ?? 1, default: []].append(file) }
        for (index, files) in byIndex.sorted(by: { $0.key < $1.key }) where files.count > 1 {
            problems.append("shard \(index)/\(count) given \(files.count) times: \(files.joined(separator: ", "))")
        }
        let missing = (1...count).filter { byIndex[$0] == nil }
        if !missing.isEmpty {
            problems.append("missing shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) of seeds \(first.seeds.first)..\(first.seeds.last)")
        }
        guard problems.isEmpty else { throw SweepMergeError(problems) }
        var summary = BatchSummary()
        for (_, record) in records { summary.merge(record.summary) }
        return SweepRecord(build: first.build, scenarioPath: first.scenarioPath, scenarioText: first.scenarioText, options: first.options,
                           seeds: first.seeds.range, shard: nil, ran: first.seeds.range, stoppedEarly: records.contains { $0.record.stoppedEarly },
                           summary: summary, elapsedSeconds: records.map(\.record.elapsedSeconds).max() ?? 0)
    }

    static func describe(_ options: [String: String]) -> String {
        options.isEmpty ? "none" : options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

public struct SweepMergeError: Error, Hashable, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String {
        "cannot merge these shard files:\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

extension SweepRecord {
    /// The record as its file holds it: JSON with sorted keys, so one result is one byte string.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// A record read back; says what is wrong with a file that is not one.
    public init(json bytes: [UInt8], file: String) throws(SweepMergeError) {
        do {
            self = try JSONDecoder().decode(SweepRecord.self, from: Data(bytes))
        } catch {
            throw SweepMergeError(["\(file) is not a sweep result written by `overbook sweep --output` (\(error))"])
        }
        guard format == Self.currentFormat else {
            throw SweepMergeError(["\(file) is in format '\(format)'; this overbook reads '\(Self.currentFormat)'"])
        }
    }
}
