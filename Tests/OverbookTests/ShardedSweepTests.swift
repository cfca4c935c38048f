import Foundation
import Testing

/// A sweep split into shards and merged says what the sweep says (`sweep --shard`, `merge`).
@Suite struct ShardedSweepTests {
    /// The summary a sweep prints, without its progress, invocation and timing lines (the
    /// "found after" wall times are the one thing a merge cannot know).
    static func summary(_ output: String) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("overbook ") && !$0.hasPrefix("sweep result: ") && !$0.hasPrefix("junit: ") && !$0.hasPrefix("Throughput: ") }
            .map { $0.replacingOccurrences(of: #", found after [0-9.]+ s"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: "first seed, wall time until a worker found it, replay", with: "first seed, replay") }
            .joined(separator: "\n")
    }

    @Test func fourShardsMergedSayWhatOneSweepSays() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let common = ["sweep", "scenarios/seed-experiment.yaml", "--seeds", "1..240", "--swarm", "--no-report", "--no-shrink"]
        let whole = try OverbookBinary.run(common + ["--output", scratch.file("all.json").path])
        #expect(whole.status == 1, "the seed algorithm fails some swarm seeds: \(whole.error)")
        var shards: [String] = []
        for index in 1...4 {
            let path = scratch.file("shard-\(index).json").path
            // One shard the way an Indexed Job runs it: its index from the environment.
            let shard = index == 3
                ? try OverbookBinary.run(common + ["--shard", "auto/4", "--output", path],
                                         environment: ProcessInfo.processInfo.environment.merging(["JOB_COMPLETION_INDEX": "2"]) { $1 })
                : try OverbookBinary.run(common + ["--shard", "\(index)/4", "--jobs", "1", "--output", path])
            #expect(shard.output.contains("shard=\(index)/4 of 1..240"), "\(shard.output)")
            shards.append(path)
        }
        let junit = scratch.file("merged.xml").path
        let merged = try OverbookBinary.run(["merge"] + shards + ["--no-report", "--no-shrink", "--output", scratch.file("merged.json").path, "--junit", junit])
        #expect(merged.status == whole.status, "\(merged.error)")
        #expect(merged.output.hasPrefix("overbook merge: 4 shard file(s) of scenarios/seed-experiment.yaml seeds 1..240 (swarm=true)"))
        #expect(Self.summary(merged.output) == Self.summary(whole.output))
        let (all, folded) = try (JSONSerialization.jsonObject(with: Data(contentsOf: scratch.file("all.json"))) as! [String: Any],
                                 JSONSerialization.jsonObject(with: Data(contentsOf: scratch.file("merged.json"))) as! [String: Any])
        #expect(NSDictionary(dictionary: all["summary"] as! [String: Any]) == NSDictionary(dictionary: folded["summary"] as! [String: Any]))

        // The JUnit file: one test case per invariant, the broken ones failed with their first seed.
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.hasPrefix(#"<?xml version="1.0" encoding="UTF-8"?>"#))
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 9, "\(xml)")
        for line in merged.output.split(separator: "\n") where line.hasPrefix("  ") && line.contains(" seeds; first seed ") {
            let name = line.dropFirst(2).prefix { $0 != ":" }
            #expect(xml.contains(#"<testcase classname="overbook.invariants" name="\#(name)" time="0">"#), "\(name) failed in \(xml)")
        }
        #expect(xml.contains("replay: overbook replay scenarios/seed-experiment.yaml --swarm --seed "), "\(xml)")

        let missing = try OverbookBinary.run(["merge"] + shards.dropLast() + ["--no-report"])
        #expect(missing.status == 2)
        #expect(missing.error.contains("missing shard 4/4 of seeds 1..240"), "\(missing.error)")
        let other = scratch.file("other.json").path
        _ = try OverbookBinary.run(common + ["--shard", "4/4", "--variant", "crash-safe", "--output", other])
        let mismatched = try OverbookBinary.run(["merge"] + shards.dropLast() + [other, "--no-report"])
        #expect(mismatched.status == 2)
        #expect(mismatched.error.contains("\(other): options swarm=true variant=crash-safe, but \(shards[0]) has swarm=true"), "\(mismatched.error)")
    }

    /// Like the sweep, the merge shrinks the first seed that broke a safety invariant, to the
    /// same schedule (same trace hash).
    @Test func aMergeShrinksTheFirstSafetyFailureAsTheSweepDoes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let common = ["sweep", "scenarios/seed-experiment.yaml", "--seeds", "1..40", "--swarm", "--no-report"]
        let whole = try OverbookBinary.run(common + ["--schedule-dir", scratch.file("whole").path])
        var shards: [String] = []
        for index in 1...2 {
            let path = scratch.file("shard-\(index).json").path
            _ = try OverbookBinary.run(common + ["--no-shrink", "--shard", "\(index)/2", "--output", path])
            shards.append(path)
        }
        let merged = try OverbookBinary.run(["merge"] + shards + ["--no-report", "--schedule-dir", scratch.file("merged").path])
        func shrunk(_ output: String) -> [String] {
            output.split(separator: "\n").map(String.init).filter {
                $0.hasPrefix("Shrinking seed ") || $0.hasPrefix("  users:") || $0.hasPrefix("  still violates:") || $0.contains("(trace hash ")
            }.map { $0.replacingOccurrences(of: scratch.url.path + "/whole", with: "DIR").replacingOccurrences(of: scratch.url.path + "/merged", with: "DIR") }
        }
        #expect(shrunk(whole.output).count == 4, "\(whole.output)")
        #expect(shrunk(merged.output) == shrunk(whole.output), "\(merged.output)\(merged.error)")
        #expect(merged.status == 1 && whole.status == 1)
    }

    /// `check --junit` and `matrix --junit`: the same test-run shape, one case per invariant
    /// (per cell for the matrix), a counterexample's schedule and replay in its failure.
    @Test func checkAndMatrixWriteJUnit() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let checkXML = scratch.file("check.xml").path
        let check = try OverbookBinary.run(["check", "scenarios/last-room-one-night.yaml", "--strategy", "exhaustive", "--users", "2",
                                            "--max-faults", "1", "--no-report", "--no-shrink", "--schedule-dir", scratch.url.path, "--junit", checkXML])
        #expect(check.status == 1, "the seed algorithm double-books: \(check.output)\(check.error)")
        let xml = try String(contentsOfFile: checkXML, encoding: .utf8)
        #expect(xml.contains(#"<testcase classname="overbook.exhaustive" name="bookings-within-capacity" time="0">"#), "\(xml)")
        #expect(xml.contains("replay: overbook replay scenarios/last-room-one-night.yaml --schedule \(scratch.url.path)/"), "\(xml)")
        #expect(xml.contains(#"<testcase classname="overbook.exhaustive" name="no-duplicate-booking" time="0"/>"#))

        let matrixXML = scratch.file("matrix.xml").path
        let matrix = try OverbookBinary.run(["matrix", "--seeds", "3", "--variants", "seed,crash-safe", "--profiles", "none,crashes",
                                             "--jobs", "1", "--no-report", "--junit", matrixXML])
        #expect([0, 1].contains(matrix.status), "\(matrix.error)")
        let cells = try String(contentsOfFile: matrixXML, encoding: .utf8)
        #expect(cells.components(separatedBy: "<testcase ").count - 1 == 4 * 9, "\(cells)")
        #expect(cells.contains(#"classname="overbook.atomic+idempotent+crash-safe.crashes""#), "crash-safe implies its prerequisites in the name")
    }
}
