import Foundation

/// Writes reports to disk.
public enum ReportWriter {
    /// Writes `html` to `path`, creating missing directories.
    public static func write(html: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(html.utf8).write(to: url, options: .atomic)
    }

    /// Writes the report and rebuilds `index.html` beside it; returns the index's path.
    @discardableResult
    public static func publish(html: String, to path: String) throws -> String {
        try write(html: html, to: path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try ReportIndex.write(directory: directory)
    }
}

/// Default report file names under `reports/`: stable per command, so re-running a command
/// replaces its report instead of piling up copies.
public enum ReportPaths {
    public static let directory = "reports"

    public static func replay(scenario: String, seed: UInt64, directory: String = directory) -> String {
        "\(directory)/replay-\(slug(scenario))-seed-\(seed).html"
    }

    public static func run(scenario: String, seed: UInt64, directory: String = directory) -> String {
        "\(directory)/run-\(slug(scenario))-seed-\(seed).html"
    }

    public static func batch(scenario: String, firstSeed: UInt64, runs: Int, directory: String = directory) -> String {
        "\(directory)/run-\(slug(scenario))-seeds-\(firstSeed)-\(firstSeed &+ UInt64(max(runs, 1)) &- 1).html"
    }

    /// A single run's report: `replay-...` for a replay (named after its schedule file when it
    /// replayed one), `run-...` otherwise.
    public static func single(scenario: String, seed: UInt64, replay: Bool, schedule: String? = nil) -> String {
        if let schedule {
            return Self.replay(scenario: "schedule-\(URL(fileURLWithPath: schedule).deletingPathExtension().lastPathComponent)", seed: seed)
        }
        return replay ? Self.replay(scenario: scenario, seed: seed) : run(scenario: scenario, seed: seed)
    }

    /// Letters, digits, `-` and `_`; anything else becomes `-`.
    public static func slug(_ name: String) -> String {
        let mapped = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
        return mapped.isEmpty ? "scenario" : mapped
    }
}

/// `index.html`: every report in a directory, newest first.
public enum ReportIndex {
    public struct Entry: Sendable {
        public var file: String
        public var kind: String
        public var status: String
        public var title: String
        public var summary: String
        public var generatedAt: String
        public var modified: Date
    }

    /// Rebuilds `directory/index.html`; returns its path.
    @discardableResult
    public static func write(directory: String) throws -> String {
        let entries = try scan(directory: directory)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("index.html").path
        try ReportWriter.write(html: html(entries: entries), to: path)
        return path
    }

    /// The reports in `directory` (every `*.html` but the index), newest first.
    public static func scan(directory: String) throws -> [Entry] {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: directory)
        var entries: [Entry] = []
        for name in names where name.hasSuffix(".html") && name != "index.html" {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            let attributes = try? manager.attributesOfItem(atPath: path)
            let modified = attributes?[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
            // The head holds everything the index needs.
            let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)))
                .map { handle -> String in
                    defer { try? handle.close() }
                    return String(decoding: handle.readData(ofLength: 16 * 1024), as: UTF8.self)
                } ?? ""
            let title = meta(head, "overbook-title") ?? between(head, "<title>", "</title>").map(unescape) ?? name
            entries.append(Entry(file: name, kind: meta(head, "overbook-kind") ?? "report", status: meta(head, "overbook-status") ?? "?",
                                 title: title, summary: meta(head, "overbook-summary") ?? "", generatedAt: meta(head, "overbook-generated") ?? "",
                                 modified: modified))
        }
        return entries.sorted { ($0.modified, $1.file) > ($1.modified, $0.file) }
    }

    public static func html(entries: [Entry]) -> String {
        let failing = entries.filter { $0.status == "FAIL" }.count
        let summary = "\(Format.plural(entries.count, "report")), newest first; \(failing) failing."
        return Page.document(Page.Meta(kind: "index", title: "Reports", passed: failing == 0, summary: summary, generatedAt: "")) {
            el("h1", text: "Overbook reports")
            el("p", ["class": "muted"], text: summary)
            if entries.isEmpty {
                el("p", text: "No reports yet. Every `overbook run` and `overbook replay` writes one here.")
            } else {
                el("table", ["class": "index"]) {
                    el("tr") { el("th", text: "result"); el("th", text: "kind"); el("th", text: "report"); el("th", text: "generated") }
                    for entry in entries {
                        el("tr") {
                            el("td") {
                                el("span", ["class": entry.status == "PASS" ? "verdict pass" : "verdict fail"], text: entry.status)
                            }
                            el("td", text: entry.kind)
                            el("td") {
                                el("a", ["href": entry.file], text: entry.title)
                                if !entry.summary.isEmpty { el("br"); el("span", ["class": "small muted"], text: entry.summary) }
                            }
                            el("td", ["class": "small nowrap"], text: entry.generatedAt)
                        }
                    }
                }
            }
        }
    }

    static func between(_ text: String, _ start: String, _ end: String) -> String? {
        guard let open = text.range(of: start), let close = text.range(of: end, range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }

    static func meta(_ head: String, _ name: String) -> String? {
        between(head, "<meta name=\"\(name)\" content=\"", "\"").map(unescape)
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
