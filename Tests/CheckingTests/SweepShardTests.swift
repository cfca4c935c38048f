import BookingCore
@testable import Checking
import Foundation
import RunObservation
import Testing

/// `sweep --shard`'s slices and `overbook merge`'s refusals, without running a seed.
@Suite struct SweepShardTests {
    @Test func slicesAreContiguousCoverTheRangeAndDifferByAtMostOneSeed() throws {
        for (range, count) in [(UInt64(1)...UInt64(40_000), 4), (7...17, 3), (0...9, 10), (5...5, 1), (100...1_000_099, 7)] {
            let slices = try (1...count).map { try SweepShard(index: $0, count: count).slice(of: range)! }
            #expect(slices.first!.lowerBound == range.lowerBound && slices.last!.upperBound == range.upperBound)
            for (a, b) in zip(slices, slices.dropFirst()) { #expect(b.lowerBound == a.upperBound + 1) }
            let sizes = slices.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1, "\(range) in \(count): \(sizes)")
        }
        #expect(try SweepShard(index: 2, count: 4).slice(of: 1...40_000) == 10_001...20_000)
        #expect(try SweepShard(index: 3, count: 3).slice(of: 1...2) == nil, "more shards than seeds: the last gets none")
        #expect(throws: SweepShardError.self) { try SweepShard(index: 1, count: 2).slice(of: 0...UInt64.max) }
    }

    @Test func shardsParseFromTheCommandLineAndFromAnIndexedJob() throws {
        #expect(try SweepShard.parse("2/8", environment: [:]) == SweepShard(index: 2, count: 8))
        #expect(try SweepShard.parse("auto/8", environment: ["JOB_COMPLETION_INDEX": "0"]) == SweepShard(index: 1, count: 8))
        #expect(try SweepShard.parse("auto/8", environment: ["SLURM_ARRAY_TASK_ID": "7"]) == SweepShard(index: 8, count: 8))
        for (text, environment, message) in [
            ("0/4", [String: String](), "--shard 0/4: the index must be 1...4 (or auto)"),
            ("5/4", [:], "--shard 5/4: the index must be 1...4 (or auto)"),
            ("2", [:], "--shard must be I/N or auto/N with N >= 1, e.g. 2/8; got '2'"),
            ("auto/4", [:], "--shard auto/4 takes its index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set; pass --shard I/4 instead"),
            ("auto/4", ["JOB_COMPLETION_INDEX": "4"], "--shard auto/4: JOB_COMPLETION_INDEX=4 is not an index 0...3"),
        ] {
            #expect(throws: SweepShardError(message)) { try SweepShard.parse(text, environment: environment) }
        }
    }

    static func record(shard: Int?, of count: Int = 3, options: [String: String] = ["swarm": "true"], build: String = "b1") -> SweepRecord {
        SweepRecord(build: build, scenarioPath: "s.yaml", scenarioText: "name: s\n", options: options, seeds: 1...30,
                    shard: shard.map { SweepShard(index: $0, count: count) }, ran: nil, stoppedEarly: false, summary: BatchSummary(),
                    elapsedSeconds: 1)
    }

    @Test func mergeNamesEveryMissingDuplicateAndMismatchedShard() throws {
        let good = try SweepRecord.merge([("a", Self.record(shard: 1)), ("b", Self.record(shard: 2)), ("c", Self.record(shard: 3))])
        #expect(good.shard == nil && good.seeds.range == 1...30)
        #expect(throws: SweepMergeError(["missing shard 2/3 of seeds 1..30"])) {
            try SweepRecord.merge([("a", Self.record(shard: 1)), ("c", Self.record(shard: 3))])
        }
        #expect(throws: SweepMergeError([
            "b: options swarm=true variant=crash-safe, but a has swarm=true",
            "c: build b2, but a has b1",
            "shard 1/3 given 2 times: a, c",
            "missing shard 3/3 of seeds 1..30",
        ])) {
            try SweepRecord.merge([("a", Self.record(shard: 1)), ("b", Self.record(shard: 2, options: ["swarm": "true", "variant": "crash-safe"])),
                                   ("c", Self.record(shard: 1, build: "b2"))])
        }
    }

    @Test func aRecordReadsBackAsWritten() throws {
        let record = Self.record(shard: 2)
        let bytes = try record.json()
        let reread = try SweepRecord(json: bytes, file: "x.json")
        #expect(try reread.json() == bytes)
        #expect(throws: SweepMergeError.self) { try SweepRecord(json: Array("{}".utf8), file: "x.json") }
    }

    @Test func junitTextIsEscapedAndKeepsXMLsCharacterSet() {
        #expect(JUnitReport.escaped(#"a<b & "c" 'd'>"#) == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        #expect(JUnitReport.escaped("tab\tok\u{1}bell") == "tab\tok?bell")
        let xml = JUnitReport.sweep(BatchSummary(), suite: "s <x>", seeds: 1...3, elapsedSeconds: 1.5) { "overbook replay s.yaml --seed \($0)" }
        #expect(xml.contains(#"<testsuite name="s &lt;x&gt;" tests="\#(Invariant.allCases.count)" failures="0" errors="0" skipped="0" time="1.500">"#), "\(xml)")
        #expect(!xml.contains("<failure"))
    }
}
