import ArgumentParser
import Reports

struct ReportOptions: ParsableArguments {
    @Option(help: "Write the HTML report to this path (default: a file under reports/, listed in reports/index.html).")
    var report: String?

    @Flag(help: "Write no HTML report.")
    var noReport = false

    /// The reports these options ask for, what is said about them on the terminal.
    var publisher: ReportPublisher { ReportPublisher(path: report, wanted: !noReport, output: Console.output) }
}
