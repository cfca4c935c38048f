import BookingCore
import Checking
import Foundation
import RunObservation

/// `overbook bench-real`'s loads and how their figures read.
public enum RealBenchmark {
    /// The seed experiment as a load: 50 users confirm room 1 (capacity 1) at once.
    public static func seed50(variant: Variant) -> Scenario {
        var seed = Scenario.seedExperiment()
        seed.name = "seed-50"
        seed.variant = variant
        return seed
    }

    /// 200 users over 20 room-nights (20 rooms x 1 night, capacity 10 each, 10 users per room),
    /// all at once unless `spread` spreads their arrivals.
    public static func load200(variant: Variant, spread: Duration) -> Scenario {
        roomNights(20, firstRoom: 101, variant: variant, spread: spread)
    }

    /// 2,000 users over 200 room-nights (200 rooms x 1 night, capacity 10 each, 10 users per
    /// room), all at once unless `spread` spreads their arrivals: every user can be booked, so
    /// the figure is throughput, not contention.
    public static func load2000(variant: Variant, spread: Duration) -> Scenario {
        roomNights(200, firstRoom: 1_001, variant: variant, spread: spread)
    }

    /// The loads `overbook bench-real` runs: seed-50, load-200 and, with `include2000`, load-2000.
    public static func loads(variant: Variant, spread: Duration, include2000: Bool) -> [Scenario] {
        [seed50(variant: variant), load200(variant: variant, spread: spread)] + (include2000 ? [load2000(variant: variant, spread: spread)] : [])
    }

    /// What is wrong with `overbook bench-real`'s options, in their words; `nil` if nothing.
    public static func problem(rounds: Int, variant: String, variants: VariantRegistry, spreadMs: Int64) -> String? {
        guard rounds >= 1 else { return "--rounds must be at least 1" }
        if let problem = variants.problem(variant) { return problem }
        guard spreadMs >= 0 else { return "--spread-ms must not be negative" }
        return nil
    }

    /// `overbook bench-real`: the header, then `loads` measured on the stack `session` starts for
    /// the body it is given (see `measure`), then their figures.
    public static func run(_ loads: [Scenario], rounds: Int, spreadMs: Int64, output: CommandOutput,
                           in session: (_ body: @escaping @Sendable (RealStack) async throws -> [String]) throws -> [String]) throws {
        output.line("overbook bench-real: variant=\(loads[0].variant.rawValue) rounds=\(rounds) booking_replicas=\(loads[0].bookingReplicas) "
                    + "spread=\(spreadMs)ms cores=\(ProcessInfo.processInfo.activeProcessorCount)")
        let lines = try session { try await measure(loads, rounds: rounds, on: $0, progress: output.progress) }
        output.line("")
        for line in lines { output.line(line) }
    }

    /// Runs each load on `stack` `rounds` times after one unmeasured warm-up round (each round's
    /// result on `progress`), and, after a load of 2,000 users or more, the databases' own limit
    /// for it; returns the lines that describe them.
    public static func measure(_ loads: [Scenario], rounds: Int, on stack: RealStack, progress: @escaping @Sendable (String) -> Void) async throws -> [String] {
        var lines: [String] = []
        for scenario in loads {
            let runner = RealRun(stack: stack, scenario: scenario)
            _ = try await runner.once(run: 0)
            let measured = try await runner.judged(1...UInt64(rounds)) { round, verdict, duration in
                progress("\(scenario.name) round \(round)/\(rounds): \(verdict.statusSummary) in \(formatSeconds(duration))\n")
            }
            let rounds = measured.map { ($0.verdict, $0.duration) }
            lines.append(describe(scenario, rounds))
            guard scenario.userCount >= 2_000 else { continue }
            progress("\(scenario.name): the databases' own limit, over libpq...\n")
            var limits: [DirectSQLLimit.Result] = []
            for _ in 1...max(1, rounds.count) {
                limits.append(try await DirectSQLLimit.measure(scenario, on: stack, inventoryConnections: RealStack.servicePoolSize,
                                                               bookingConnections: RealStack.servicePoolSize * scenario.bookingReplicas))
            }
            lines.append(describeLimit(scenario, rounds, limits: limits))
        }
        return lines
    }

    static func roomNights(_ count: Int, firstRoom: Int, variant: Variant, spread: Duration) -> Scenario {
        let night = Night(iso: "2026-04-01")!
        let rooms = (0..<count).map { RoomSpec(id: RoomID(firstRoom + $0), name: "Bench Room \($0 + 1)", capacity: 10) }
        let arrival: Arrival = spread > .zero ? .uniform(.zero, spread) : .at(.zero)
        let users = rooms.map { UserGroup(count: 10, stay: Stay(room: $0.id, checkIn: night, checkOut: night.adding(days: 1))!, arrival: arrival) }
        return Scenario(name: "load-\(count * 10)", summary: "\(count * 10) users over \(count) room-nights", variant: variant, rooms: rooms,
                        inventoryNights: [night], users: users)
    }

    /// The figures of one load over its measured rounds: bookings/s, requests/s, latency
    /// percentiles (every answered request pooled), the status mix, the invariants.
    public static func describe(_ scenario: Scenario, _ rounds: [(verdict: RunVerdict, duration: Int64)]) -> String {
        let successes = rounds.map { $0.verdict.observation.outcomes.filter { $0.status == StatusCode.created }.count }
        let requests = rounds.map { $0.verdict.observation.outcomes.count }
        let duration = rounds.map(\.duration).reduce(0, +)
        let seconds = Double(duration) / 1e9
        let latencies = rounds.flatMap { $0.verdict.observation.outcomes.compactMap { $0.status == nil ? nil : $0.latency } }
        let statistics = LatencyStatistics(latencies)
        var mix: [Int?: Int] = [:]
        for round in rounds { for (status, count) in round.verdict.statusCounts { mix[status, default: 0] += count } }
        let mixText = mix.keys.sorted { ($0 ?? .max) < ($1 ?? .max) }.map { "\(mix[$0]!) x \($0.map(String.init) ?? "no answer")" }.joined(separator: ", ")
        // A 201's latency is the cost of one booking with the lock free (or nearly): the rest of
        // the distribution is mostly the seed's lock backoff (sleeps of 0.1, 0.2 and 0.4 s).
        let booked = LatencyStatistics(rounds.flatMap { $0.verdict.observation.outcomes.compactMap { $0.status == StatusCode.created ? $0.latency : nil } })
        let failed = rounds.filter { !$0.verdict.passed }.count
        let violated = Set(rounds.flatMap { $0.verdict.violatedInvariants }).sorted().map(\.rawValue).joined(separator: ", ")
        func ms(_ nanoseconds: Int64) -> String { String(format: "%.1f ms", Double(nanoseconds) / 1e6) }
        return """
            \(scenario.name) (\(scenario.summary), \(rounds.count) rounds):
              bookings/s: \(String(format: "%.0f", Double(successes.reduce(0, +)) / seconds)) \
            (\(successes.reduce(0, +)) bookings in \(String(format: "%.3f", seconds)) s); \
            requests/s: \(String(format: "%.0f", Double(requests.reduce(0, +)) / seconds))
              latency: p50 \(ms(statistics.median)), p95 \(ms(statistics.p95)), p99 \(ms(statistics.p99)), \
            mean \(ms(statistics.mean)), max \(ms(statistics.max))
              201s only: p50 \(ms(booked.median)), p95 \(ms(booked.p95)), min \(ms(booked.min))
              statuses: \(mixText)
              invariants: \(failed == 0 ? "held in every round" : "violated in \(failed) of \(rounds.count) rounds: \(violated)")
            """
    }

    /// The load's bookings/s beside the databases' own limit for it (`DirectSQLLimit`), both
    /// pooled over their rounds, and the share of the limit the services reach.
    public static func describeLimit(_ scenario: Scenario, _ rounds: [(verdict: RunVerdict, duration: Int64)],
                                     limits: [DirectSQLLimit.Result]) -> String {
        let booked = rounds.map { $0.verdict.observation.outcomes.filter { $0.status == StatusCode.created }.count }.reduce(0, +)
        let seconds = Double(rounds.map(\.duration).reduce(0, +)) / 1e9
        let http = seconds > 0 ? Double(booked) / seconds : 0
        let limitSeconds = Double(limits.map(\.duration).reduce(0, +)) / 1e9
        let limitBooked = limits.map(\.bookings).reduce(0, +)
        let limit = limitSeconds > 0 ? Double(limitBooked) / limitSeconds : 0
        return """
              direct-SQL limit (the saga's writes over libpq, \(limits.count) rounds, \(RealStack.servicePoolSize) inventory + \
            \(RealStack.servicePoolSize * scenario.bookingReplicas) booking connections): \(String(format: "%.0f", limit)) bookings/s \
            (\(limitBooked) of \(limits.map(\.attempts).reduce(0, +)) in \(String(format: "%.3f", limitSeconds)) s); \
            over HTTP: \(String(format: "%.0f", http)) bookings/s = \(limit > 0 ? String(format: "%.0f%%", 100 * http / limit) : "-") of the limit
            """
    }
}
