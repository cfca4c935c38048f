/// Where a command's text goes, injected so that the library code a command runs writes no
/// terminal itself: `line` is a line of its output (stdout), `progress` text on stderr as it
/// is, `error` an error message (stderr); `onTerminal` says whether stderr is a terminal.
public struct CommandOutput: Sendable {
    public var line: @Sendable (String) -> Void
    public var progress: @Sendable (String) -> Void
    public var error: @Sendable (String) -> Void
    /// Pushes out what `line` buffered, where a reader waits for it (a parent process).
    public var flush: @Sendable () -> Void
    public var onTerminal: Bool

    public init(line: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (String) -> Void,
                error: @escaping @Sendable (String) -> Void, flush: @escaping @Sendable () -> Void = {}, onTerminal: Bool = false) {
        self.line = line
        self.progress = progress
        self.error = error
        self.flush = flush
        self.onTerminal = onTerminal
    }

    /// A progress line for long searches: redrawn in place on a terminal, one line per call otherwise.
    public func status(_ text: String) {
        progress(onTerminal ? "\r\u{1B}[K" + text : text + "\n")
    }

    /// Clears the last `status` line on a terminal.
    public func statusDone() {
        if onTerminal { progress("\r\u{1B}[K") }
    }

    /// A meter of `total` steps on `progress`, redrawn in place on a terminal.
    public func meter(total: Int, label: String, now: @escaping () -> Double) -> ProgressMeter {
        ProgressMeter(total: total, label: label, onTerminal: onTerminal, now: now, write: progress)
    }
}

extension ParallelSweep {
    /// The sweep with a progress meter labelled `label` on `output`.
    public func run(label: String, output: CommandOutput, now: @escaping @Sendable () -> Double) -> Outcome {
        var meter = output.meter(total: Int(clamping: seeds.upperBound - seeds.lowerBound + 1), label: label, now: now)
        return run(now: now) { done, failures, final in meter.update(done: done, failures: failures, final: final) }
    }
}
