import ArgumentParser
import Checking
import RealHarness

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
        users per room), all at once unless --spread-ms spreads their arrivals;
          load-2000: 2,000 users over 200 room-nights, likewise (--no-2000 to leave it out).

        After load-2000, the databases' own limit for it: every user's writes of the crash-safe \
        saga (insert pending, record the reservation and take the night with the guarded \
        UPDATE, confirm), the statements the services send, sent straight over libpq with as \
        many connections as the services hold; load-2000's bookings/s is printed as a share of it.

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

    @Option(help: "Spread the 200 and 2,000 users' arrivals uniformly over this many milliseconds (0: all at once).")
    var spreadMs: Int64 = 0

    @Flag(name: .customLong("no-2000"), help: "Leave out the 2,000-user load and the direct-SQL limit.")
    var no2000 = false

    @OptionGroup var backends: BackendOptions

    func validate() throws {
        try refuse(RealBenchmark.problem(rounds: rounds, variant: variant, variants: VariantOption.registry, spreadMs: spreadMs))
    }

    func run() throws {
        if let warning = SimulatorBenchmark.debugBuildWarning { print(warning) }
        let variant = try VariantOption.parse(self.variant)
        let loads = RealBenchmark.loads(variant: variant, spread: .milliseconds(spreadMs), include2000: !no2000)
        try RealBenchmark.run(loads, rounds: rounds, spreadMs: spreadMs, output: Console.output) {
            try withRealStack(backends.locations, scenarios: loads, users: loads.map(\.userCount).max()!, command: "bench-real", $0)
        }
    }
}
