/// A batch's progress for whoever watches it: on a terminal one line, redrawn at most every
/// 100 ms; elsewhere (a log, a pipe) a plain line per tenth of the batch. Time is read only
/// through the injected `now` (seconds); the lines go to `write`.
public struct ProgressMeter {
    public let total: Int
    public let label: String
    let onTerminal: Bool
    let now: () -> Double
    let write: (String) -> Void
    let start: Double
    private var lastDraw: Double
    private var lastTenth = 0

    public init(total: Int, label: String, onTerminal: Bool, now: @escaping () -> Double, write: @escaping (String) -> Void) {
        self.total = total
        self.label = label
        self.onTerminal = onTerminal
        self.now = now
        self.write = write
        start = now()
        lastDraw = start
    }

    /// `final`: the batch ended, perhaps before `total` (a sweep's --stop-on-failure).
    public mutating func update(done: Int, failures: Int, final: Bool = false) {
        guard total > 1 else { return }
        if final && done != total {
            // Stopped early: end the line.
            if onTerminal { write("\n") }
            return
        }
        let time = now()
        let rate = Double(done) / max(1e-9, time - start)
        let left = done == total || rate <= 0 ? "" : ", about \(Self.duration(Double(total - done) / rate)) left"
        if onTerminal {
            guard time - lastDraw > 0.1 || done == total else { return }
            lastDraw = time
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\(label) [\(bar)] \(done)/\(total)  \(Int(rate)) runs/s\(left)  failures: \(failures)  " + (done == total ? "\n" : ""))
        } else {
            let tenth = done * 10 / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            write("\(label): \(done)/\(total) runs, \(Int(rate)) runs/s\(left), failures: \(failures)\n")
        }
    }

    /// `42 s`, `7 min`, `3.2 h`: an estimate, so coarse.
    static func duration(_ seconds: Double) -> String {
        if seconds < 90 { return "\(Int(seconds.rounded())) s" }
        if seconds < 5_400 { return "\(Int((seconds / 60).rounded())) min" }
        return "\(Int((seconds / 360).rounded()) / 10).\(Int((seconds / 360).rounded()) % 10) h"
    }
}
