import Checking

/// Latencies reduced to what the charts draw: fixed bins and a bounded CDF, so that a report of
/// 100,000 runs is no bigger than a report of one.
public struct BinnedLatencies: Sendable {
    public var statistics: LatencyStatistics
    /// Upper end of the x axis (nanoseconds); the axis starts at zero.
    public var axisMax: Int64
    public var binWidth: Int64
    public var counts: [Int]
    /// Points of the empirical CDF: (latency, fraction of requests at or under it).
    public var cdf: [(latency: Int64, fraction: Double)]

    /// `samples` need not be sorted. `slo` widens the axis to show the SLO line when it is near.
    public init(_ samples: [Int64], slo: Int64, bins: Int = 40, cdfPoints: Int = 300) {
        let sorted = samples.sorted()
        self.init(sorted: sorted, statistics: LatencyStatistics(sorted), slo: slo, bins: bins, cdfPoints: cdfPoints)
    }

    /// `samples` binned on the axis 0...`axisMax` (see `axis(largest:slo:)`), so that data sets
    /// drawn side by side share their x axis.
    public init(_ samples: [Int64], slo: Int64, axisMax: Int64, bins: Int = 40, cdfPoints: Int = 300) {
        let sorted = samples.sorted()
        self.init(sorted: sorted, statistics: LatencyStatistics(sorted), slo: slo, bins: bins, cdfPoints: cdfPoints, axisMax: axisMax)
    }

    init(sorted: [Int64], statistics: LatencyStatistics, slo: Int64, bins: Int, cdfPoints: Int, axisMax: Int64? = nil) {
        self.statistics = statistics
        self.axisMax = axisMax ?? Self.axis(largest: sorted.last ?? 0, slo: slo)
        binWidth = max(1, (self.axisMax + Int64(bins) - 1) / Int64(bins))
        counts = Array(repeating: 0, count: bins)
        for sample in sorted {
            let index = Int(min(Int64(bins - 1), max(0, sample / binWidth)))
            counts[index] += 1
        }
        var points: [(Int64, Double)] = []
        let n = sorted.count
        if n > 0 {
            if n <= cdfPoints {
                for (index, sample) in sorted.enumerated() { points.append((sample, Double(index + 1) / Double(n))) }
            } else {
                for step in 1...cdfPoints {
                    let index = max(0, (n * step + cdfPoints - 1) / cdfPoints - 1)
                    points.append((sorted[index], Double(index + 1) / Double(n)))
                }
            }
        }
        cdf = points
    }

    /// The x axis's upper end for samples up to `largest`: a round number a little past it, or
    /// past the SLO when that does not squash the data into a corner.
    public static func axis(largest sample: Int64, slo: Int64) -> Int64 {
        let largest = max(sample, 1_000_000)
        var top = largest + largest / 20
        if slo > 0 && slo <= largest * 3 { top = max(top, slo + slo / 20) }
        let step = Axis.niceStep(top, ticks: 6)
        return (top + step - 1) / step * step
    }
}

/// Axis arithmetic: steps of 1, 2 or 5 times a power of ten.
enum Axis {
    static func niceStep(_ range: Int64, ticks: Int) -> Int64 {
        let raw = max(1, range / Int64(max(1, ticks)))
        var power: Int64 = 1
        while power * 10 <= raw { power *= 10 }
        for multiple: Int64 in [1, 2, 5, 10] where power * multiple >= raw { return power * multiple }
        return power * 10
    }

    static func ticks(upTo top: Int64, ticks: Int) -> [Int64] {
        let step = niceStep(top, ticks: ticks)
        return Array(stride(from: Int64(0), through: top, by: Int(step)))
    }

    /// Seconds with as many decimals as the step needs.
    static func secondsLabel(_ value: Int64, step: Int64) -> String {
        var digits = 0
        var unit: Int64 = 1_000_000_000
        while unit > step && digits < 6 { unit /= 10; digits += 1 }
        return Format.decimal(value, unit: 1_000_000_000, digits: digits)
    }
}

/// The report's charts, as inline SVG.
enum Charts {
    struct Marker {
        var value: Int64
        var label: String
        var cssClass: String
    }

    static let width = 560.0
    static let height = 250.0
    static let left = 52.0
    static let right = 18.0
    static let top = 40.0
    static let bottom = 40.0

    static func markers(_ data: BinnedLatencies, slo: Int64) -> [Marker] {
        var markers = [Marker(value: data.statistics.p95, label: "p95 " + Format.seconds(data.statistics.p95), cssClass: "m-p95")]
        if slo > 0 { markers.append(Marker(value: slo, label: "SLO p95 < " + Format.seconds(slo), cssClass: "m-slo")) }
        return markers
    }

    /// Requests per latency bin, with the p95 and SLO lines.
    static func histogram(_ data: BinnedLatencies, slo: Int64, caption: String, clock: String = "virtual time") -> HTML {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let maxCount = max(1, data.counts.max() ?? 1)
        let countStep = max(1, Axis.niceStep(Int64(maxCount), ticks: 4))
        let countTop = Double((Int64(maxCount) + countStep - 1) / countStep * countStep)
        func x(_ value: Int64) -> Double { left + plotWidth * Double(value) / Double(data.axisMax) }
        func y(_ count: Double) -> Double { top + plotHeight * (1 - count / countTop) }
        var nodes: [HTML] = []
        nodes += xAxis(data, plotHeight: plotHeight, x: x)
        for tick in stride(from: Int64(0), through: Int64(countTop), by: Int(countStep)) {
            let ty = y(Double(tick))
            nodes.append(line(left, ty, left + plotWidth, ty, "grid"))
            nodes.append(text(left - 6, ty + 4, Format.count(Int(tick)), "tick", anchor: "end"))
        }
        for (index, count) in data.counts.enumerated() where count > 0 {
            let from = Int64(index) * data.binWidth
            let barX = x(from)
            let barWidth = max(1, x(from + data.binWidth) - barX - 1)
            let barY = y(Double(count))
            nodes.append(element("rect", [("x", Format.coordinate(barX)), ("y", Format.coordinate(barY)),
                                          ("width", Format.coordinate(barWidth)), ("height", Format.coordinate(top + plotHeight - barY)),
                                          ("class", "bar")],
                                 [el("title", text: "\(Format.seconds(from))–\(Format.seconds(from + data.binWidth)): \(Format.plural(count, "request"))")]))
        }
        nodes += markerLines(markers(data, slo: slo), axisMax: data.axisMax, plotHeight: plotHeight, x: x)
        nodes.append(text(left + plotWidth / 2, height - 6, "latency (seconds, \(clock))", "axis-title", anchor: "middle"))
        nodes.append(text(14, top + plotHeight / 2, "requests", "axis-title", anchor: "middle", rotate: true))
        return chart(nodes, caption: caption)
    }

    /// Fraction of requests answered within each latency, with the p95 and SLO lines.
    static func cdf(_ data: BinnedLatencies, slo: Int64, caption: String, clock: String = "virtual time") -> HTML {
        cdf([CDFSeries(data: data, cssClass: "cdf")], markers: markers(data, slo: slo), caption: caption, clock: clock)
    }

    /// One curve of a CDF chart; `name` labels it in the legend and its hover text.
    struct CDFSeries {
        var data: BinnedLatencies
        var cssClass: String
        var name: String?
    }

    /// Several CDFs overlaid, on the first series' axis (bin them all with the same `axisMax`),
    /// with `markers` drawn as vertical lines labelled above the plot, and `legendMarkers` as
    /// lines named in the legend (bottom right, where risen CDFs leave the plot empty), beside
    /// the named curves.
    static func cdf(_ series: [CDFSeries], markers: [Marker], legendMarkers: [Marker] = [], caption: String, clock: String) -> HTML {
        let axis = series[0].data
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func x(_ value: Int64) -> Double { left + plotWidth * Double(min(value, axis.axisMax)) / Double(axis.axisMax) }
        func y(_ fraction: Double) -> Double { top + plotHeight * (1 - fraction) }
        var nodes: [HTML] = []
        nodes += xAxis(axis, plotHeight: plotHeight, x: x)
        for percent in stride(from: 0, through: 100, by: 25) {
            let ty = y(Double(percent) / 100)
            nodes.append(line(left, ty, left + plotWidth, ty, "grid"))
            nodes.append(text(left - 6, ty + 4, "\(percent)%", "tick", anchor: "end"))
        }
        nodes.append(line(left, y(0.95), left + plotWidth, y(0.95), "guide95"))
        nodes.append(text(left + plotWidth - 2, y(0.95) - 3, "95%", "tick", anchor: "end"))
        for curve in series where !curve.data.cdf.isEmpty {
            let data = curve.data
            var points = "\(Format.coordinate(x(0))),\(Format.coordinate(y(0)))"
            var previous = 0.0
            for point in data.cdf {
                let px = Format.coordinate(x(point.latency))
                points += " \(px),\(Format.coordinate(y(previous))) \(px),\(Format.coordinate(y(point.fraction)))"
                previous = point.fraction
            }
            points += " \(Format.coordinate(left + plotWidth)),\(Format.coordinate(y(previous)))"
            nodes.append(element("polyline", [("points", points), ("class", curve.cssClass)],
                                 [el("title", text: (curve.name.map { "\($0): " } ?? "") + "median \(Format.seconds(data.statistics.median)), p95 \(Format.seconds(data.statistics.p95)), p99 \(Format.seconds(data.statistics.p99)), max \(Format.seconds(data.statistics.max))")]))
        }
        nodes += markerLines(markers, axisMax: axis.axisMax, plotHeight: plotHeight, x: x)
        for marker in legendMarkers where marker.value <= axis.axisMax {
            nodes.append(element("line", [("x1", Format.coordinate(x(marker.value))), ("y1", Format.coordinate(top)),
                                          ("x2", Format.coordinate(x(marker.value))), ("y2", Format.coordinate(top + plotHeight)),
                                          ("class", "mline " + marker.cssClass)], [el("title", text: marker.label)]))
        }
        let legend = series.compactMap { curve in curve.name.map { (curve.cssClass, $0) } } + legendMarkers.map { ("mline " + $0.cssClass, $0.label) }
        if !legend.isEmpty {
            let rowHeight = 16.0
            let boxX = left + plotWidth - 190
            let boxY = top + plotHeight - 8 - rowHeight * Double(legend.count)
            nodes.append(element("rect", [("x", Format.coordinate(boxX)), ("y", Format.coordinate(boxY)), ("width", "182"),
                                          ("height", Format.coordinate(rowHeight * Double(legend.count) + 4)), ("fill", "#fff"),
                                          ("fill-opacity", "0.92"), ("stroke", "#d1d9e0")]))
            for (row, entry) in legend.enumerated() {
                let ly = boxY + rowHeight * Double(row + 1) - 2
                nodes.append(line(boxX + 8, ly - 4, boxX + 32, ly - 4, entry.0))
                nodes.append(text(boxX + 38, ly, entry.1, "tick"))
            }
        }
        nodes.append(text(left + plotWidth / 2, height - 6, "latency (seconds, \(clock))", "axis-title", anchor: "middle"))
        nodes.append(text(14, top + plotHeight / 2, "answered within", "axis-title", anchor: "middle", rotate: true))
        return chart(nodes, caption: caption)
    }

    static func xAxis(_ data: BinnedLatencies, plotHeight: Double, x: (Int64) -> Double) -> [HTML] {
        var nodes: [HTML] = []
        let step = Axis.niceStep(data.axisMax, ticks: 6)
        for tick in stride(from: Int64(0), through: data.axisMax, by: Int(step)) {
            nodes.append(line(x(tick), top + plotHeight, x(tick), top + plotHeight + 4, "axis"))
            nodes.append(text(x(tick), top + plotHeight + 17, Axis.secondsLabel(tick, step: step), "tick", anchor: "middle"))
        }
        nodes.append(line(left, top + plotHeight, left + (width - left - right), top + plotHeight, "axis"))
        nodes.append(line(left, top, left, top + plotHeight, "axis"))
        return nodes
    }

    /// Vertical lines with labels stacked above the plot; a value past the axis becomes an arrow
    /// at the right edge.
    static func markerLines(_ markers: [Marker], axisMax: Int64, plotHeight: Double, x: (Int64) -> Double) -> [HTML] {
        var nodes: [HTML] = []
        let plotRight = width - right
        for (row, marker) in markers.enumerated() {
            let labelY = 13.0 + Double(row) * 13
            if marker.value > axisMax {
                nodes.append(text(plotRight, labelY, marker.label + " →", "mlabel " + marker.cssClass, anchor: "end"))
                continue
            }
            let mx = x(marker.value)
            nodes.append(element("line", [("x1", Format.coordinate(mx)), ("y1", Format.coordinate(top - 4)),
                                          ("x2", Format.coordinate(mx)), ("y2", Format.coordinate(top + plotHeight)),
                                          ("class", "mline " + marker.cssClass)], [el("title", text: marker.label)]))
            let anchor = mx > left + (plotRight - left) * 0.6 ? "end" : "start"
            nodes.append(text(anchor == "end" ? mx - 4 : mx + 4, labelY, marker.label, "mlabel " + marker.cssClass, anchor: anchor))
        }
        return nodes
    }

    static func chart(_ nodes: [HTML], caption: String) -> HTML {
        el("figure", ["class": "chart"]) {
            element("svg", [("viewBox", "0 0 \(Int(width)) \(Int(height))"), ("width", "\(Int(width))"), ("height", "\(Int(height))"),
                            ("role", "img"), ("aria-label", caption)], nodes)
            el("figcaption", text: caption)
        }
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cssClass: String) -> HTML {
        element("line", [("x1", Format.coordinate(x1)), ("y1", Format.coordinate(y1)), ("x2", Format.coordinate(x2)),
                         ("y2", Format.coordinate(y2)), ("class", cssClass)])
    }

    static func text(_ x: Double, _ y: Double, _ content: String, _ cssClass: String, anchor: String = "start", rotate: Bool = false) -> HTML {
        var attributes = [("x", Format.coordinate(x)), ("y", Format.coordinate(y)), ("class", cssClass), ("text-anchor", anchor)]
        if rotate { attributes.append(("transform", "rotate(-90 \(Format.coordinate(x)) \(Format.coordinate(y)))")) }
        return element("text", attributes, [.text(content)])
    }
}
