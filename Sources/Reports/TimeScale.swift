/// Maps virtual time to x: linear within each burst of activity, with long idle stretches
/// squeezed into a fixed-width break, so that a 10 s lock expiry and a 2 ms commit can both be
/// read on one screen. Breaks are drawn and labelled, so the compression is never hidden.
struct TimeScale {
    struct Piece {
        var t0: Int64
        var t1: Int64
        var x0: Double
        var x1: Double
        var isBreak: Bool
    }

    var pieces: [Piece]
    let left: Double
    let width: Double

    static let breakWidth = 26.0

    /// `times` are every instant something is drawn at; they need not be sorted or unique.
    init(times: [Int64], left: Double, width: Double) {
        self.left = left
        self.width = width
        let sorted = Array(Set(times)).sorted()
        guard let first = sorted.first, let last = sorted.last, last > first else {
            let t0 = sorted.first ?? 0
            pieces = [Piece(t0: t0 - 1, t1: t0 + 1, x0: left, x1: left + width, isBreak: false)]
            return
        }
        let span = last - first
        // A gap is idle enough to squeeze when it is more than a tenth of the whole run.
        let threshold = max(span / 10, 1)
        var runs: [(Int64, Int64)] = []
        var gaps: [(Int64, Int64)] = []
        var runStart = first
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next - previous > threshold {
            runs.append((runStart, previous))
            gaps.append((previous, next))
            runStart = next
        }
        runs.append((runStart, last))
        // How much happens in each burst.
        var counts = Array(repeating: 0, count: runs.count)
        for time in times {
            var low = 0
            var high = runs.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if runs[middle].0 <= time { low = middle } else { high = middle - 1 }
            }
            counts[low] += 1
        }
        let breaksWidth = Double(gaps.count) * Self.breakWidth
        // Each burst gets width in proportion to its duration, but at least a little, so that a
        // burst of a few milliseconds next to a long one stays readable. Within a burst the scale
        // is linear; between bursts it may differ, and the ticks say so.
        // Half the width goes by duration, half by how many things happen: a short burst where
        // every request is answered deserves room.
        let minimumRun = max(span / 40, 1)
        let durations = runs.map { Double(max($0.1 - $0.0, minimumRun)) }
        let totalDuration = durations.reduce(0, +)
        let totalCount = Double(max(1, counts.reduce(0, +)))
        let weights = runs.indices.map { 0.5 * durations[$0] / totalDuration + 0.5 * Double(counts[$0]) / totalCount }
        let perWeight = (width - breaksWidth) / weights.reduce(0, +)
        var x = left
        var pieces: [Piece] = []
        for (index, run) in runs.enumerated() {
            let length = weights[index] * perWeight
            // A burst that is a single instant is centred in its room.
            let t0 = run.1 > run.0 ? run.0 : run.0 - 1
            let t1 = run.1 > run.0 ? run.1 : run.0 + 1
            pieces.append(Piece(t0: t0, t1: t1, x0: x, x1: x + length, isBreak: false))
            x += length
            if index < gaps.count {
                let next = runs[index + 1]
                let nextStart = next.1 > next.0 ? next.0 : next.0 - 1
                pieces.append(Piece(t0: t1, t1: max(nextStart, t1 + 1), x0: x, x1: x + Self.breakWidth, isBreak: true))
                x += Self.breakWidth
            }
        }
        self.pieces = pieces
    }

    func x(_ time: Int64) -> Double {
        guard let first = pieces.first, let last = pieces.last else { return left }
        if time <= first.t0 { return first.x0 }
        if time >= last.t1 { return last.x1 }
        // Binary search for the piece that holds `time`.
        var low = 0
        var high = pieces.count - 1
        while low < high {
            let middle = (low + high) / 2
            if pieces[middle].t1 < time { low = middle + 1 } else { high = middle }
        }
        let piece = pieces[low]
        if time <= piece.t0 { return piece.x0 }
        return piece.x0 + (piece.x1 - piece.x0) * Double(time - piece.t0) / Double(piece.t1 - piece.t0)
    }

    /// Time at x (inverse of `x`), for density buckets.
    func time(at position: Double) -> Int64 {
        guard let first = pieces.first, let last = pieces.last else { return 0 }
        if position <= first.x0 { return first.t0 }
        if position >= last.x1 { return last.t1 }
        for piece in pieces where position <= piece.x1 {
            return piece.t0 + Int64((position - piece.x0) / max(piece.x1 - piece.x0, 1e-9) * Double(piece.t1 - piece.t0))
        }
        return last.t1
    }

    /// Tick marks inside each linear piece, at least `spacing` pixels apart; each burst after a
    /// break is labelled at its start.
    func ticks(spacing: Double = 90) -> [(time: Int64, label: String)] {
        var result: [(Int64, String)] = []
        func add(_ time: Int64, _ label: String) {
            if let previous = result.last, x(time) - x(previous.0) < spacing * 0.7 { return }
            result.append((time, label))
        }
        for (index, piece) in pieces.enumerated() where !piece.isBreak {
            let pixels = piece.x1 - piece.x0
            let duration = piece.t1 - piece.t0
            guard pixels > 0, duration > 0 else { continue }
            if duration <= 2 {
                // A single instant.
                add(piece.t0 + 1, Axis.secondsLabel(piece.t0 + 1, step: 1_000))
                continue
            }
            let wanted = Int64(Double(duration) * spacing / pixels)
            let step = Axis.niceStep(max(wanted, 1), ticks: 1)
            if index > 0 { add(piece.t0, Axis.secondsLabel(piece.t0, step: min(step, 1_000_000))) }
            var tick = (piece.t0 + step - 1) / step * step
            if index == 0 && piece.t0 <= 0 { tick = 0 }
            while tick <= piece.t1 {
                add(tick, Axis.secondsLabel(tick, step: step))
                tick += step
            }
        }
        return result
    }
}
