import BookingCore

/// Rewrites parts of a scenario file's text, leaving everything else (comments included) as
/// its author wrote it. `overbook calibrate` writes the measured latency and service times
/// into a copy of the scenario this way.
public enum ScenarioEditing {
    /// `yaml` with its top-level `latency:` and `serving:` sections replaced by `latency` and
    /// `serving` (appended when the file has none), after `header` (comment lines).
    public static func calibrated(_ yaml: String, latency: LatencyProfile, booking: Serving, inventory: Serving,
                                  header: [String]) -> String {
        var text = replacingSection("latency", in: yaml, with: latencySection(latency))
        text = replacingSection("serving", in: text, with: servingSection(booking: booking, inventory: inventory))
        return header.map { "# " + $0 }.joined(separator: "\n") + (header.isEmpty ? "" : "\n") + text
    }

    /// Replaces the top-level `key:` section (its line and the indented lines under it) with
    /// `section`; appends `section` when there is no such key.
    static func replacingSection(_ key: String, in yaml: String, with section: [String]) -> String {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard let start = lines.firstIndex(where: { $0.hasPrefix(key + ":") }) else {
            return (lines + [""] + section).joined(separator: "\n") + "\n"
        }
        var end = start + 1
        // The section goes on while lines are indented or blank; a blank line before the next
        // top-level line belongs to the layout, not to the section.
        while end < lines.count, lines[end].isEmpty || lines[end].first == " " || lines[end].first == "\t" { end += 1 }
        while end > start + 1, lines[end - 1].allSatisfy(\.isWhitespace) { end -= 1 }
        lines.replaceSubrange(start..<end, with: section)
        return lines.joined(separator: "\n") + "\n"
    }

    static func latencySection(_ latency: LatencyProfile) -> [String] {
        ["latency:"] + Hop.allCases.map { hop in "  \(hop.rawValue): \(flow(latency[hop]))" }
    }

    static func servingSection(booking: Serving, inventory: Serving) -> [String] {
        var lines = ["serving:"]
        for (name, serving) in [("booking", booking), ("inventory", inventory)] where !serving.isUnlimited {
            var fields: [String] = []
            if let workers = serving.workers { fields += ["workers: \(workers)", "backlog: \(serving.backlog)"] }
            if let time = serving.serviceTime { fields.append("service_time: \(flow(time))") }
            lines.append("  \(name): {\(fields.joined(separator: ", "))}")
        }
        return lines.count == 1 ? [] : lines
    }

    /// A distribution in the format's flow style: `{min: 120us, max: 480us, tail: {...}}`.
    public static func flow(_ distribution: LatencyDistribution) -> String {
        var text = "{min: \(duration(distribution.min)), max: \(duration(distribution.max))"
        if let tail = distribution.tail {
            text += ", tail: {ratio: \(tail.numerator)/\(tail.denominator), min: \(duration(tail.min)), max: \(duration(tail.max))}"
        }
        return text + "}"
    }

    /// Exact, in the coarsest unit that keeps it whole (`3ms`, `250us`, `1500ns`).
    public static func duration(_ duration: Duration) -> String {
        let nanoseconds = duration.nanoseconds
        for (unit, size) in [("s", Int64(1_000_000_000)), ("ms", 1_000_000), ("us", 1_000)] where nanoseconds % size == 0 && nanoseconds != 0 {
            return "\(nanoseconds / size)\(unit)"
        }
        return nanoseconds == 0 ? "0ms" : "\(nanoseconds)ns"
    }
}
