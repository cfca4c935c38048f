import RunObservation

/// A sweep as a JUnit XML test run (`sweep --junit`, `merge --junit`), so any CI system shows it
/// like its tests: one test case per invariant, failed when some seed broke it, the failure
/// carrying how many seeds, the first one, its violation and the command that replays it.
public enum JUnitReport {
    /// - Parameters:
    ///   - suite: the test suite's name (the scenario and what changed it, e.g. "seed-experiment --swarm").
    ///   - replay: the replay command of a seed.
    ///   - elapsedSeconds: the sweep's wall time, for the suite's `time` attribute.
    public static func sweep(_ batch: BatchSummary, suite: String, seeds: ClosedRange<UInt64>, elapsedSeconds: Double,
                             replay: (UInt64) -> String) -> String {
        let broken = Invariant.allCases.filter { batch.failures[$0] != nil }.count
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuites name="overbook sweep" tests="\#(Invariant.allCases.count)" failures="\#(broken)" time="\#(seconds(elapsedSeconds))">"# + "\n"
        xml += #"  <testsuite name="\#(escaped(suite))" tests="\#(Invariant.allCases.count)" failures="\#(broken)" errors="0" skipped="0" time="\#(seconds(elapsedSeconds))">"# + "\n"
        xml += #"    <properties><property name="seeds" value="\#(seeds.lowerBound)..\#(seeds.upperBound)"/><property name="runs" value="\#(batch.runs)"/></properties>"# + "\n"
        for invariant in Invariant.allCases {
            let name = #"<testcase classname="overbook.invariants" name="\#(invariant.rawValue)" time="0""#
            guard let failure = batch.failures[invariant] else {
                xml += "    \(name)/>\n"
                continue
            }
            let message = "\(failure.count) of \(batch.runs) seeds broke it; first seed \(failure.firstSeed)"
            let body = "\(failure.example.description)\nreplay: \(replay(failure.firstSeed))"
            xml += "    \(name)>\n"
            xml += #"      <failure type="\#(invariant.rawValue)" message="\#(escaped(message))">\#(escaped(body))</failure>"# + "\n"
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func seconds(_ value: Double) -> String {
        let millis = Int64((max(0, value) * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// Text for an XML attribute or element.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            case _ where character.value < 0x20 && character != "\t" && character != "\n" && character != "\r": out += "?"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
