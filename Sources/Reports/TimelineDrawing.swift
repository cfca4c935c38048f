import BookingCore
import RunObservation
import Checking
import Simulation

extension Timeline {
    /// The SVG being drawn, layer by layer, on a finished layout. Marks record where they drew
    /// each event, so that the explanation's numbered steps can point at them.
    final class Drawing {
        let input: Input
        let facts: TraceFacts
        let events: [TraceEvent]
        let outcomes: [ClientOutcome]
        let selection: Selection
        let lanes: [Lane]
        let laneOfUser: [Int: Int]
        let laneOfProcess: [ProcessID: Int]
        let aggregateLane: Int?
        let handling: [ProcessID: [Int]]
        let handlingRows: [ProcessID: (rows: [Int], count: Int)]
        let transactionRows: [ProcessID: (ids: [Int], rows: [Int], count: Int)]
        let redisKeys: [String]
        let plotBottom: Double
        let height: Double
        let scale: TimeScale

        var background: [HTML] = []
        var marks: [HTML] = []
        var lines: [HTML] = []
        var overlay: [HTML] = []
        /// Where each event was drawn: event index → point.
        var position: [Int: (Double, Double)] = [:]
        var density: [Int: [Int]] = [:]  // lane → bucket counts of steps not drawn in detail
        let bucketWidth = 4.0
        var bucketCount: Int { Int(Timeline.plotWidth / bucketWidth) + 1 }

        init(_ input: Input, selection: Selection, layout: Layout) {
            self.input = input
            facts = input.facts
            events = input.facts.events
            outcomes = input.outcomes
            self.selection = selection
            lanes = layout.lanes
            laneOfUser = layout.laneOfUser
            laneOfProcess = layout.laneOfProcess
            aggregateLane = layout.aggregateLane
            handling = layout.handling
            handlingRows = layout.handlingRows
            transactionRows = layout.transactionRows
            redisKeys = layout.redisKeys
            plotBottom = layout.plotBottom
            height = layout.height
            scale = layout.scale
        }
    }
}

// MARK: - Primitives

extension Timeline.Drawing {
    func detailed(_ user: Int) -> Bool { selection.isDetailed(user) }

    func x(_ time: Int64) -> Double { scale.x(time) }

    func count(lane: Int, time: Int64) {
        let bucket = min(bucketCount - 1, max(0, Int((x(time) - Timeline.labelWidth) / bucketWidth)))
        density[lane, default: Array(repeating: 0, count: bucketCount)][bucket] += 1
    }
    func classes(_ base: String, user: Int) -> String {
        base.hasPrefix("req ") && input.highlighted.contains(user) ? base + " hl" : base
    }
    func userAttribute(_ user: Int) -> String? { user > 0 ? String(user) : nil }

    func bar(_ t0: Int64, _ t1: Int64, top: Double, height barHeight: Double, cssClass: String, user: Int, title: String) -> HTML {
        let x0 = x(t0)
        let x1 = max(x(t1), x0 + 1.5)
        var attributes = [("x", Format.coordinate(x0)), ("y", Format.coordinate(top)), ("width", Format.coordinate(x1 - x0)),
                          ("height", Format.coordinate(barHeight)), ("class", classes(cssClass, user: user))]
        if let attribute = userAttribute(user) { attributes.append(("data-u", attribute)) }
        return element("rect", attributes, [el("title", text: title)])
    }
    func tick(_ time: Int64, top: Double, height tickHeight: Double, cssClass: String, user: Int, title: String, index: Int?) -> HTML {
        let tx = x(time)
        if let index { position[index] = (tx, top + tickHeight / 2) }
        var attributes = [("x", Format.coordinate(tx - 1.5)), ("y", Format.coordinate(top)), ("width", "3"),
                          ("height", Format.coordinate(tickHeight)), ("class", classes(cssClass, user: user))]
        if let attribute = userAttribute(user) { attributes.append(("data-u", attribute)) }
        return element("rect", attributes, [el("title", text: title)])
    }
    func describe(_ index: Int) -> String { events[index].description.trimmingTrailingSpaces }
}

// MARK: - Background

extension Timeline.Drawing {
    /// Lane backgrounds and labels.
    func drawLaneLabels() {
        for (index, lane) in lanes.enumerated() {
            background.append(element("rect", [("x", "0"), ("y", Format.coordinate(lane.y)), ("width", Format.coordinate(Timeline.labelWidth + Timeline.plotWidth)),
                                               ("height", Format.coordinate(lane.height)), ("class", index % 2 == 0 ? "band" : "band alt")]))
            var labelAttributes = [("x", "8"), ("y", Format.coordinate(lane.y + min(lane.height / 2, 12) + 4)), ("class", "lane-label " + lane.cssClass)]
            if let user = lane.user {
                labelAttributes.append(("data-u", String(user)))
                if input.highlighted.contains(user) { labelAttributes[2].1 += " hl" }
            }
            var labelChildren: [HTML] = [.text(lane.title)]
            if !lane.subtitle.isEmpty {
                labelChildren.append(element("tspan", [("class", "lane-sub"), ("dx", "6")], [.text(lane.subtitle)]))
            }
            background.append(element("text", labelAttributes, labelChildren))
            for (row, label) in lane.rowLabels.enumerated() where !label.isEmpty {
                background.append(element("text", [("x", Format.coordinate(Timeline.labelWidth - 8)), ("y", Format.coordinate(lane.rowMiddle(row) + 3.5)),
                                                   ("class", "row-label"), ("text-anchor", "end")], [.text(label)]))
            }
        }
    }

    /// Compressed idle stretches.
    func drawIdleGaps() {
        for piece in scale.pieces where piece.isBreak {
            background.append(element("rect", [("x", Format.coordinate(piece.x0 + 3)), ("y", Format.coordinate(Timeline.axisHeight)),
                                               ("width", Format.coordinate(piece.x1 - piece.x0 - 6)), ("height", Format.coordinate(plotBottom - Timeline.axisHeight)),
                                               ("class", "gap")],
                                  [el("title", text: "idle for \(Format.short(piece.t1 - piece.t0)) (\(Format.virtualTime(piece.t0)) to \(Format.virtualTime(piece.t1))), drawn compressed")]))
            for axisY in [plotBottom + 30] {
                background.append(element("text", [("x", Format.coordinate((piece.x0 + piece.x1) / 2)), ("y", Format.coordinate(axisY)),
                                                   ("class", "gap-label"), ("text-anchor", "middle")], [.text("+" + Format.short(piece.t1 - piece.t0))]))
            }
        }
    }

    /// Time axis, top and bottom.
    func drawTimeAxis() {
        for tick in scale.ticks() {
            let tx = x(tick.time)
            background.append(element("line", [("x1", Format.coordinate(tx)), ("y1", Format.coordinate(Timeline.axisHeight - 4)),
                                               ("x2", Format.coordinate(tx)), ("y2", Format.coordinate(plotBottom + 4)), ("class", "tgrid")]))
            for axisY in [Timeline.axisHeight - 10, plotBottom + 15] {
                background.append(element("text", [("x", Format.coordinate(tx)), ("y", Format.coordinate(axisY)), ("class", "tick"),
                                                   ("text-anchor", "middle")], [.text(tick.label + " s")]))
            }
        }
    }
}

// MARK: - Overlay

extension Timeline.Drawing {
    /// Violations: a line at the instant each was detected.
    func drawViolations() {
        for (row, violation) in input.violations.enumerated().prefix(6) {
            let vx = x(violation.time)
            overlay.append(element("line", [("x1", Format.coordinate(vx)), ("y1", Format.coordinate(Timeline.axisHeight)), ("x2", Format.coordinate(vx)),
                                            ("y2", Format.coordinate(plotBottom)), ("class", "violation")],
                                   [el("title", text: violation.description)]))
            let room = vx - Timeline.labelWidth > 220
            overlay.append(element("text", [("x", Format.coordinate(room ? vx - 4 : vx + 4)), ("y", Format.coordinate(Timeline.axisHeight + 11 + Double(row) * 13)),
                                            ("class", "violation-label"), ("text-anchor", room ? "end" : "start")],
                                   [.text("✗ " + violation.invariant.rawValue + " at " + Format.virtualTime(violation.time)),
                                    el("title", text: violation.description)]))
        }
    }

    /// Numbered steps of the explanation.
    func drawSteps() {
        for (index, number) in input.steps.sorted(by: { $0.value < $1.value }) {
            let point = position[index] ?? Timeline.fallbackPosition(events[index], lanes: lanes, laneOfUser: laneOfUser, laneOfProcess: laneOfProcess, x: x)
            guard let point else { continue }
            overlay.append(element("g", [("class", "step"), ("data-u", String(events[index].origin))], [
                element("circle", [("cx", Format.coordinate(point.0)), ("cy", Format.coordinate(point.1 - 9)), ("r", "7")]),
                element("text", [("x", Format.coordinate(point.0)), ("y", Format.coordinate(point.1 - 5.5)), ("text-anchor", "middle")], [.text(String(number))]),
                el("title", text: "step \(number): " + describe(index)),
            ]))
        }
    }

    func svg() -> HTML {
        let svgWidth = Timeline.labelWidth + Timeline.plotWidth + 44
        return element("svg", [("id", "timeline"), ("class", "timeline"), ("width", Format.coordinate(svgWidth)), ("height", Format.coordinate(height)),
                               ("viewBox", "0 0 \(Format.coordinate(svgWidth)) \(Format.coordinate(height))"), ("role", "img"),
                               ("aria-label", "timeline of the run: one lane per process")],
                       [element("defs", [], [element("pattern", [("id", "gap-hatch"), ("width", "6"), ("height", "6"), ("patternUnits", "userSpaceOnUse"),
                                                                   ("patternTransform", "rotate(45)")],
                                                        [element("rect", [("width", "6"), ("height", "6"), ("fill", "#f6f8fa")]),
                                                         element("line", [("x1", "0"), ("y1", "0"), ("x2", "0"), ("y2", "6"), ("stroke", "#d0d7de"), ("stroke-width", "2")])])]),
                        element("g", [("class", "bg")], background), element("g", [("class", "lines")], lines),
                        element("g", [("class", "marks")], marks), element("g", [("class", "overlay")], overlay)])
    }
}
