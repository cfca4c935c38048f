import BookingCore
import Checking
import RunObservation

/// One real run drawn on its wall clock: a lane per user from send to answer, coloured by the
/// answer, and a line for each fault as it fired, its mechanism in the line's tooltip. What
/// the simulated timeline is for a trace, with only what a real run can know.
enum RealTimeline {
    static let width = 760.0
    static let left = 70.0
    static let right = 16.0
    static let top = 26.0
    static let laneHeight = 7.0

    static func chart(_ run: RealReport.Run, caption: String) -> HTML {
        let outcomes = run.verdict.observation.outcomes
        let end = max(1, run.duration, outcomes.compactMap(\.completedAt).max() ?? 0, run.faults.map(\.at).max() ?? 0)
        let plotWidth = width - left - right
        let height = top + laneHeight * Double(max(1, outcomes.count)) + 34
        func x(_ time: Int64) -> Double { left + plotWidth * Double(min(max(0, time), end)) / Double(end) }
        var nodes: [HTML] = []
        for tick in Axis.ticks(upTo: end, ticks: 6) {
            nodes.append(Charts.line(x(tick), top - 4, x(tick), height - 30, "tgrid"))
            nodes.append(Charts.text(x(tick), height - 16, Format.seconds(tick), "tick", anchor: "middle"))
        }
        for (lane, outcome) in outcomes.enumerated() {
            let y = top + laneHeight * Double(lane)
            if lane % 10 == 0 { nodes.append(Charts.text(left - 6, y + laneHeight - 1, outcome.process.description, "row-label", anchor: "end")) }
            guard let sent = outcome.sentAt else { continue }
            let answered = outcome.completedAt ?? end
            let status = outcome.status.map { [201, 409, 503].contains($0) ? "s-\($0)" : $0 / 100 == 5 ? "s-5xx" : $0 / 100 == 4 ? "s-4xx" : "s-2xx" } ?? "s-none"
            nodes.append(element("rect", [("x", Format.coordinate(x(sent))), ("y", Format.coordinate(y + 1)),
                                          ("width", Format.coordinate(max(1, x(answered) - x(sent)))), ("height", Format.coordinate(laneHeight - 2)),
                                          ("class", "req \(status)")],
                                 [el("title", text: "\(outcome.process) (\(outcome.user.rawValue)): \(outcome.status.map(String.init) ?? "no answer") after \(Format.seconds(answered - sent))")]))
        }
        for fault in run.faults {
            nodes.append(element("line", [("x1", Format.coordinate(x(fault.at))), ("y1", Format.coordinate(top - 8)),
                                          ("x2", Format.coordinate(x(fault.at))), ("y2", Format.coordinate(height - 30)), ("class", "violation")],
                                 [el("title", text: "\(Format.seconds(fault.at)): \(fault.mechanism)")]))
            nodes.append(Charts.text(x(fault.at) + 3, top - 10, fault.kind.rawValue, "violation-label"))
        }
        nodes.append(Charts.text(left + plotWidth / 2, height - 2, "wall-clock seconds from the first send", "axis-title", anchor: "middle"))
        return el("figure", ["class": "chart timeline"]) {
            element("svg", [("viewBox", "0 0 \(Int(width)) \(Int(height))"), ("width", "\(Int(width))"), ("height", "\(Int(height))"),
                            ("role", "img"), ("aria-label", caption)], nodes)
            el("figcaption", text: caption)
        }
    }
}
