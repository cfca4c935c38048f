import Backends
import BookingCore
import Checking
import RunObservation
import Services

/// `overbook calibrate`: the scenario on the real stack with every service timing its own
/// traffic (`serve --record-timings`) and the driver timing its confirms, then each hop's
/// one-way delay and each service's handling time fitted to the distributions the simulator
/// draws, so the simulated scenario takes the real one's speed.
public struct Calibration: Sendable {
    /// One measured quantity: its samples (nanoseconds, sorted) and the distribution fitted.
    public struct Series: Sendable {
        public let name: String
        public let samples: [Int64]
        public let fitted: LatencyDistribution?

        init(name: String, samples: [Int64]) {
            self.name = name
            self.samples = samples.sorted()
            fitted = TimingFit.distribution(self.samples)
        }

        /// The `p`-quantile (0...1) of the samples; 0 without any.
        public func quantile(_ p: Double) -> Int64 { TimingFit.quantile(samples, p) }
    }

    /// Per hop, in `Hop.allCases` order.
    public let hops: [Series]
    public let bookingHandling: Series
    public let inventoryHandling: Series
    /// The calibration runs themselves, judged: the real side of the comparison.
    public let verdicts: [RunVerdict]

    /// `scenario` with the measured latencies and service times (a hop or service with no
    /// sample keeps what the scenario had), its sync workers as they were.
    public func applied(to scenario: Scenario) -> Scenario {
        var calibrated = scenario
        for (hop, series) in zip(Hop.allCases, hops) {
            if let fitted = series.fitted { calibrated.latency.hops[hop] = fitted }
        }
        if let fitted = bookingHandling.fitted { calibrated.bookingServing.serviceTime = fitted }
        if let fitted = inventoryHandling.fitted { calibrated.inventoryServing.serviceTime = fitted }
        return calibrated
    }

    /// Runs `scenario` `runs` times on `stack` (whose services were started with
    /// `recordTimings`) and fits what was measured. Each service's recording is cleared first,
    /// so start-up traffic (migrations, health checks) is left out.
    public static func measure(stack: RealStack, scenario: Scenario, runs: Int,
                               finished: @escaping (_ run: UInt64, _ verdict: RunVerdict, _ duration: Int64) -> Void = { _, _, _ in })
        async throws -> Calibration {
        let clients = TimingRecorder()
        let replicas = stack.replicas.map { TimingClient(serviceURL: $0.baseURL, client: stack.client) }
        guard let inventoryService = stack.inventory else { throw RealModeError("the inventory service is not running; start the services first") }
        let inventory = TimingClient(serviceURL: inventoryService.baseURL, client: stack.client)
        for service in replicas + [inventory] { _ = try await service.samples(reset: true) }
        let run = RealRun(stack: stack, scenario: scenario, clientTimer: HopTimer(clients, .clientBooking))
        let judged = try await run.judged(1...UInt64(max(1, runs)), finished: finished)
        var booking = TimingSamples()
        for replica in replicas { booking.merge(try await replica.samples()) }
        let served = try await inventory.samples()
        let measured = clients.snapshot()
        let hops = Hop.allCases.map { hop in
            let samples: [Int64] = switch hop {
            case .clientBooking: measured[hop]
            case .bookingRedis, .bookingPostgres, .bookingInventory: booking[hop]
            case .inventoryPostgres: served[hop]
            }
            return Series(name: hop.rawValue, samples: samples)
        }
        return Calibration(hops: hops, bookingHandling: Series(name: "booking service time", samples: booking.handling),
                           inventoryHandling: Series(name: "inventory service time", samples: served.handling),
                           verdicts: judged.map(\.verdict))
    }
}

/// Fits measured times to the scenario format's distribution: uniform in `[min, max]`, and
/// with probability `tail.ratio` uniform in the tail's range instead.
///
/// Service and network times are skewed (most fast, a few slow), so a plain `[p5, p95]` would
/// put the body's middle far above the typical sample. Instead the body is centred on the
/// median, from the 5th percentile to as far above the median; samples past it make the tail,
/// whose ratio is their share and whose range is centred on their own median. Both medians
/// and the share of slow samples are kept, which is what a run's latency percentiles follow.
public enum TimingFit {
    public static let tailDenominator = 1_000

    public static func distribution(_ sorted: [Int64]) -> LatencyDistribution? {
        guard !sorted.isEmpty else { return nil }
        let low = quantile(sorted, 0.05)
        let median = quantile(sorted, 0.5)
        let high = max(low, 2 * median - low)
        let slow = sorted.drop { $0 <= high }
        let share = (slow.count * tailDenominator + sorted.count / 2) / sorted.count
        var tail: LatencyDistribution.Tail?
        if share >= 1, !slow.isEmpty {
            let slowMedian = quantile(Array(slow), 0.5)
            tail = .init(numerator: share, denominator: tailDenominator,
                         min: microseconds(high), max: microseconds(max(high, 2 * slowMedian - high)))
        }
        return LatencyDistribution(min: microseconds(low), max: microseconds(high), tail: tail)
    }

    /// The `p`-quantile (0...1) of sorted samples, the sample at rank `p * count`; 0 if none.
    public static func quantile(_ sorted: [Int64], _ p: Double) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int(Double(sorted.count) * p)))]
    }

    /// To the nearest microsecond: a scenario file's figure, not a clock's noise.
    static func microseconds(_ nanoseconds: Int64) -> Duration {
        .microseconds((max(0, nanoseconds) + 500) / 1_000)
    }
}

extension Calibration {
    /// What was measured and fitted, one line per hop and service, for the terminal.
    public var table: String {
        func ms(_ nanoseconds: Int64) -> String { formatMilliseconds(nanoseconds) }
        var lines = ["measured on the real stack (one-way per message; service time: a request's own handling, its waits taken out):",
                     "  " + "what".padding(24) + "samples".leftPadding(9) + "p50".leftPadding(10) + "p95".leftPadding(10) + "p99".leftPadding(10) + "   profile"]
        for series in hops + [bookingHandling, inventoryHandling] {
            let profile = series.fitted.map(Self.describe) ?? "no samples: the scenario's own value is kept"
            lines.append("  " + series.name.padding(24) + "\(series.samples.count)".leftPadding(9) + ms(series.quantile(0.5)).leftPadding(10)
                         + ms(series.quantile(0.95)).leftPadding(10) + ms(series.quantile(0.99)).leftPadding(10) + "   " + profile)
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ distribution: LatencyDistribution) -> String {
        var text = "uniform \(formatMilliseconds(distribution.min.nanoseconds))-\(formatMilliseconds(distribution.max.nanoseconds))"
        if let tail = distribution.tail {
            text += ", \(tail.numerator)/\(tail.denominator) of them \(formatMilliseconds(tail.min.nanoseconds))-\(formatMilliseconds(tail.max.nanoseconds))"
        }
        return text
    }

    /// The calibration runs beside the calibrated scenario simulated for `simulated` seeds:
    /// latency percentiles with their ratio, and how many runs saw how many 503 answers.
    public static func comparison(real: [RunVerdict], simulated: [RunVerdict]) -> String {
        var (realBatch, simulatedBatch) = (BatchSummary(), BatchSummary())
        real.forEach { realBatch.add($0) }
        simulated.forEach { simulatedBatch.add($0) }
        let (r, s) = (LatencyStatistics(realBatch.latencies), LatencyStatistics(simulatedBatch.latencies))
        func ratio(_ a: Int64, _ b: Int64) -> String {
            guard b > 0 else { return "-" }
            let hundredths = (a * 100 + b / 2) / b
            return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)x"
        }
        func mix(_ batch: BatchSummary) -> String {
            batch.unavailablePerRun.keys.sorted().map { "\($0) x 503: \(batch.unavailablePerRun[$0]!)" }.joined(separator: ", ")
        }
        return """
        calibrated simulator vs real: \(real.count) real run\(real.count == 1 ? "" : "s") (wall-clock), \(simulated.count) simulated seeds (virtual time)
          p50 real \(formatSeconds(r.median)), simulated \(formatSeconds(s.median)) (real / simulated \(ratio(r.median, s.median)))
          p95 real \(formatSeconds(r.p95)), simulated \(formatSeconds(s.p95)) (\(ratio(r.p95, s.p95)))
          p99 real \(formatSeconds(r.p99)), simulated \(formatSeconds(s.p99)) (\(ratio(r.p99, s.p99)))
          runs by 503 answers: real \(mix(realBatch)); simulated \(mix(simulatedBatch))
        """
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}
