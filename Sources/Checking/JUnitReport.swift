import RunObservation

/// A sweep as a JUnit XML test run (`sweep --junit`, `merge --junit`), so any CI system shows it
/// like its tests: one test case per invariant, failed when some seed broke it, the failure
/// carrying how many seeds, the first one, its violation and the command that replays it.
public enum JUnitReport {
    /// One test case: passed, or failed with a one-line message and the text that explains it.
    public struct Case: Sendable {
        public var classname: String
        public var name: String
        public var failure: (type: String, message: String, text: String)?

        public init(classname: String, name: String, failure: (type: String, message: String, text: String)? = nil) {
            self.classname = classname
            self.name = name
            self.failure = failure
        }
    }

    /// A test run of one suite.
    public static func run(_ command: String, suite: String, cases: [Case], properties: [(String, String)], elapsedSeconds: Double) -> String {
        let failures = cases.filter { $0.failure != nil }.count
        let time = seconds(elapsedSeconds)
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuites name="overbook \#(command)" tests="\#(cases.count)" failures="\#(failures)" time="\#(time)">"# + "\n"
        xml += #"  <testsuite name="\#(escaped(suite))" tests="\#(cases.count)" failures="\#(failures)" errors="0" skipped="0" time="\#(time)">"# + "\n"
        xml += "    <properties>" + properties.map { #"<property name="\#(escaped($0.0))" value="\#(escaped($0.1))"/>"# }.joined() + "</properties>\n"
        for testCase in cases {
            let head = #"<testcase classname="\#(escaped(testCase.classname))" name="\#(escaped(testCase.name))" time="0""#
            guard let failure = testCase.failure else {
                xml += "    \(head)/>\n"
                continue
            }
            xml += "    \(head)>\n"
            xml += #"      <failure type="\#(escaped(failure.type))" message="\#(escaped(failure.message))">\#(escaped(failure.text))</failure>"# + "\n"
            xml += "    </testcase>\n"
        }
        return xml + "  </testsuite>\n</testsuites>\n"
    }

    /// Per invariant, failed when some seed broke it: how many seeds, the first, its violation
    /// and its replay command.
    static func invariantCases(_ batch: BatchSummary, classname: String, replay: (UInt64) -> String) -> [Case] {
        Invariant.allCases.map { invariant in
            Case(classname: classname, name: invariant.rawValue, failure: batch.failures[invariant].map { failure in
                (invariant.rawValue, "\(failure.count) of \(batch.runs) seeds broke it; first seed \(failure.firstSeed)",
                 "\(failure.example.description)\nreplay: \(replay(failure.firstSeed))")
            })
        }
    }

    /// A sweep (`sweep --junit`, `merge --junit`): one test case per invariant.
    /// - Parameters:
    ///   - suite: the test suite's name (the scenario and what changed it, e.g. "seed-experiment --swarm").
    ///   - replay: the replay command of a seed.
    public static func sweep(_ batch: BatchSummary, suite: String, seeds: ClosedRange<UInt64>, elapsedSeconds: Double,
                             replay: (UInt64) -> String) -> String {
        run("sweep", suite: suite, cases: invariantCases(batch, classname: "overbook.invariants", replay: replay),
            properties: [("seeds", "\(seeds.lowerBound)..\(seeds.upperBound)"), ("runs", "\(batch.runs)")], elapsedSeconds: elapsedSeconds)
    }

    /// The matrix (`matrix --junit`): per cell (variant x profile), one test case per invariant.
    public static func matrix(_ cells: [MatrixCell], suite: String, seeds: ClosedRange<UInt64>, elapsedSeconds: Double,
                              replay: (MatrixCell, UInt64) -> String) -> String {
        let cases = cells.flatMap { cell in
            invariantCases(cell.batch, classname: "overbook.\(cell.variant.rawValue).\(cell.profile.name)") { replay(cell, $0) }
        }
        return run("matrix", suite: suite, cases: cases, properties: [("seeds", "\(seeds.lowerBound)..\(seeds.upperBound)")],
                   elapsedSeconds: elapsedSeconds)
    }

    /// A search (`check --junit`): one test case per invariant, failed by its counterexample
    /// (`found`: the text that names its schedule file and replay command).
    public static func check(_ report: SearchReport, suite: String, found: (Counterexample) -> String) -> String {
        let cases = Invariant.allCases.map { invariant in
            Case(classname: "overbook.\(report.strategy)", name: invariant.rawValue, failure: report.counterexamples.first { $0.invariant == invariant }.map {
                (invariant.rawValue, "execution \($0.execution) of \(report.executions) broke it", found($0))
            })
        }
        return run("check", suite: suite, cases: cases,
                   properties: [("strategy", report.strategy), ("executions", "\(report.executions)"), ("completed", "\(report.completed)")],
                   elapsedSeconds: report.seconds)
    }

    /// `1.234`: JUnit's seconds, to the millisecond.
    static func seconds(_ value: Double) -> String {
        String(formatSeconds(Int64((max(0, value) * 1e9).rounded())).dropLast())
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
