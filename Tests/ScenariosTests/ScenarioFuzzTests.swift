import BookingCore
import Foundation
import Scenarios
import Testing

/// The shipped scenarios, mutated the ways a person or a bad merge mutates a file (a line
/// deleted, doubled or swapped, the file cut short, a value replaced by a huge or negative
/// number, unicode, another type, an indentation slip): every mutation either loads or is
/// refused with a `file:line:column` error (or `file:` for a problem with no place); none
/// crashes, hangs or throws anything else.
@Suite struct ScenarioFuzzTests {
    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scenarios")
    }()

    static let replacements = [
        "99999999999999999999999", "-1", "0", "-0.5", "1e309", "9223372036854775807", "18446744073709551616",
        "\"\"", "[]", "{}", "~", "true", "ñandú 😀", "\"\\u0000\"", "10 days", "1e-9s", "-5ms", "0s",
        "9999999999999999h", "2026-02-30", "0000-01-01", "room", "{a: [b, {c: d}]}", "&anchor x", "*missing", "!!binary AAAA",
    ]

    static let rounds = 2_000

    struct Mutator {
        var random: SplitMix64
        mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(max(1, n))) }

        mutating func mutate(_ text: String) -> String {
            var lines = text.components(separatedBy: "\n")
            switch below(8) {
            case 0:
                lines.remove(at: below(lines.count))
            case 1:
                let index = below(lines.count)
                lines.insert(lines[index], at: index)
            case 2:
                lines.swapAt(below(lines.count), below(lines.count))
            case 3:
                let scalars = Array(text.unicodeScalars)
                return String(String.UnicodeScalarView(scalars.prefix(below(scalars.count))))
            case 4, 5, 6:
                // A value replaced: the text after the first ": " (or "- ") of some line.
                let index = below(lines.count)
                let line = lines[index]
                let value = ScenarioFuzzTests.replacements[below(ScenarioFuzzTests.replacements.count)]
                if let range = line.range(of: ": ") {
                    lines[index] = line[..<range.upperBound] + value
                } else if let range = line.range(of: "- ") {
                    lines[index] = line[..<range.upperBound] + value
                } else {
                    lines[index] = line + value
                }
            default:
                let index = below(lines.count)
                lines[index] = (below(2) == 0 ? "\t" : " ") + lines[index]
            }
            return lines.joined(separator: "\n")
        }
    }

    @Test func mutatedScenariosLoadOrPointAtTheProblem() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 5)
        var mutator = Mutator(random: SplitMix64(seed: 15))
        var loaded = 0
        var refused = 0
        var unplaced: [String] = []
        for file in files {
            let original = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
            for round in 0..<Self.rounds {
                var text = original
                for _ in 0...(round % 3) { text = mutator.mutate(text) }
                do {
                    _ = try ScenarioLoader.parse(yaml: text, file: file)
                    loaded += 1
                } catch {
                    refused += 1
                    if error.line == nil || error.column == nil || !error.description.hasPrefix("\(file):\(error.line!):\(error.column!): ") {
                        if unplaced.count < 5 { unplaced.append("\(error)") }
                    }
                }
            }
        }
        #expect(loaded + refused == files.count * Self.rounds)
        #expect(unplaced.isEmpty, "\(unplaced.joined(separator: "\n"))")
        // Both outcomes occur, so the mutations are neither all harmless nor all fatal.
        #expect(loaded > 100 && refused > 1_000, "\(loaded) loaded, \(refused) refused")
    }

    @Test func aScenarioTooLargeForMemoryIsRefusedWithItsLimit() throws {
        let yaml = """
            name: huge
            rooms: [{id: 1, name: Single, capacity: 1}]
            users: [{count: 100000000, room: 1, check_in: 2026-03-15, check_out: 2026-03-16}]
            """
        #expect {
            try ScenarioLoader.parse(yaml: yaml, file: "huge.yaml")
        } throws: { error in
            "\(error)".hasPrefix("huge.yaml:3:") && "\(error)".contains("'users[0].count' must be at most 1000000")
        }
        let long = yaml.replacingOccurrences(of: "count: 100000000", with: "count: 1").replacingOccurrences(of: "2026-03-16", with: "2999-01-01")
        #expect {
            try ScenarioLoader.parse(yaml: long, file: "long.yaml")
        } throws: { error in "\(error)".contains("it may last at most 3660") }
    }
}
