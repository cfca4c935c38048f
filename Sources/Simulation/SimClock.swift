import RunObservation

/// Virtual time as a standard library `Clock`, bound to the process whose tasks sleep on it,
/// so a crash of that process leaves its sleepers parked for good.
public struct SimClock: Clock, Sendable {
    public typealias Duration = Swift.Duration

    public struct Instant: InstantProtocol, Sendable, CustomStringConvertible {
        public var nanoseconds: Int64
        public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
        public func advanced(by duration: Swift.Duration) -> Instant {
            Instant(nanoseconds: nanoseconds &+ duration.nanoseconds)
        }
        public func duration(to other: Instant) -> Swift.Duration {
            .nanoseconds(other.nanoseconds &- nanoseconds)
        }
        public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
        public var description: String { formatVirtualTime(nanoseconds) }
    }

    /// Thrown by `sleep` once the run is over (the world is sealed) or off the simulator.
    public struct Stopped: Error, Sendable {}

    let simulator: Simulator
    public let process: ProcessContext

    public init(simulator: Simulator, process: ProcessContext) {
        self.simulator = simulator
        self.process = process
    }

    public var now: Instant { Instant(nanoseconds: simulator.now) }
    public var minimumResolution: Swift.Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Swift.Duration?) async throws {
        guard simulator.onSimulatorThread("SimClock.sleep by \(process)") else { throw Stopped() }
        guard !simulator.sealed else { throw Stopped() }
        simulator.trace.append(TraceEvent(time: simulator.now, process: process, op: .sleep,
                                          a: deadline.nanoseconds &- simulator.now))
        let simulator = self.simulator
        await simulator.park(process, "sleep") { waker in
            simulator.schedule(at: deadline.nanoseconds) { simulator.wake(waker) }
        }
        if simulator.sealed { throw Stopped() }
    }
}
