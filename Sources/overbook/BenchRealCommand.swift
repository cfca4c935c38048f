import ArgumentParser
import BookingCore
import Checking
import Foundation
import Services

struct BenchRealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-real",
        abstract: "Measure the real stack: bookings/s and latency percentiles over HTTP.",
        discussion: """
        Starts the same stack as `overbook real` (throwaway Redis and PostgreSQL unless URLs are \
        given, the inventory service and 2 booking replicas as child processes) and runs two \
        loads, each --rounds times after one unmeasured warm-up round, on reset databases:

          seed-50: the seed experiment, 50 users confirm room 1 (capacity 1) at once;
          load-200: 200 users over 20 room-nights (20 rooms x 1 night, capacity 10 each, 10 \
        users per room), all at once unless --spread-ms spreads their arrivals.

        Prints, per load: bookings/s (201s over the round's wall-clock duration, first send to \
        last answer), requests/s, the status mix, p50/p95/p99 latency (every answered request of \
        every measured round pooled), and whether every invariant held. Build with -c release.

        Example:
          swift build -c release && .build/release/overbook bench-real --rounds 5
        """
    )

    @Option(help: "Measured rounds per load.")
    var rounds = 5

    @Option(help: VariantOption.help)
    var variant = "seed"

    @Option(help: "Spread the 200 users' arrivals uniformly over this many milliseconds (0: all at once).")
    var spreadMs: Int64 = 0

    @OptionGroup var backends: BackendOptions

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        _ = try VariantOption.parse(variant)
        guard spreadMs >= 0 else { throw ValidationError("--spread-ms must not be negative") }
    }

    static func load200(variant: Variant, spread: Duration) -> Scenario {
        let night = Night(iso: "2026-04-01")!
        let rooms = (1...20).map { RoomSpec(id: RoomID(100 + $0), name: "Bench Room \($0)", capacity: 10) }
        let arrival: Arrival = spread > .zero ? .uniform(.zero, spread) : .at(.zero)
        let users = rooms.map { UserGroup(count: 10, stay: Stay(room: $0.id, checkIn: night, checkOut: night.adding(days: 1))!, arrival: arrival) }
        return Scenario(name: "load-200", summary: "200 users over 20 room-nights", variant: variant, rooms: rooms,
                        inventoryNights: [night], users: users)
    }

    func run() throws {
        #if DEBUG
        print("warning: this is a debug build; figures are not representative (use swift build -c release)")
        #endif
        let variant = try VariantOption.parse(self.variant)
        var seed = Scenario.seedExperiment()
        seed.name = "seed-50"
        seed.variant = variant
        let loads = [seed, Self.load200(variant: variant, spread: .milliseconds(spreadMs))]
        let rounds = self.rounds
        print("overbook bench-real: variant=\(variant.rawValue) rounds=\(rounds) booking_replicas=\(seed.bookingReplicas) "
              + "spread=\(spreadMs)ms cores=\(ProcessInfo.processInfo.activeProcessorCount)")
        let lines = try RealSession.with(backends.locations, scenarios: loads, users: 200) { stack in
            var lines: [String] = []
            for scenario in loads {
                let runner = RealRun(stack: stack, scenario: scenario)
                _ = try await runner.once(run: 0)
                var measured: [(verdict: RunVerdict, duration: Int64)] = []
                for round in 1...rounds {
                    let (verdict, _, duration) = try await runner.once(run: UInt64(round))
                    measured.append((verdict, duration))
                    Console.progress("\(scenario.name) round \(round)/\(rounds): \(RealCommand.statusMix(verdict)) in \(formatSeconds(duration))\n")
                }
                lines.append(Self.describe(scenario, measured))
            }
            return lines
        }
        print("")
        for line in lines { print(line) }
    }

    static func describe(_ scenario: Scenario, _ rounds: [(verdict: RunVerdict, duration: Int64)]) -> String {
        let successes = rounds.map { $0.verdict.output.outcomes.filter { $0.status == StatusCode.created }.count }
        let requests = rounds.map { $0.verdict.output.outcomes.count }
        let duration = rounds.map(\.duration).reduce(0, +)
        let seconds = Double(duration) / 1e9
        let latencies = rounds.flatMap { $0.verdict.output.outcomes.compactMap { $0.status == nil ? nil : $0.latency } }
        let statistics = LatencyStatistics(latencies)
        var mix: [Int?: Int] = [:]
        for round in rounds { for (status, count) in round.verdict.statusCounts { mix[status, default: 0] += count } }
        let mixText = mix.keys.sorted { ($0 ?? .max) < ($1 ?? .max) }.map { "\(mix[$0]!) x \($0.map(String.init) ?? "no answer")" }.joined(separator: ", ")
        // A 201's latency is the cost of one booking with the lock free (or nearly): the rest of
        // the distribution is mostly the seed's lock backoff (sleeps of 0.1, 0.2 and 0.4 s).
        let booked = LatencyStatistics(rounds.flatMap { $0.verdict.output.outcomes.compactMap { $0.status == StatusCode.created ? $0.latency : nil } })
        let failed = rounds.filter { !$0.verdict.passed }.count
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
              invariants: \(failed == 0 ? "held in every round" : "violated in \(failed) of \(rounds.count) rounds")
            """
    }
}
