import ArgumentParser
import RealHarness
import Checking
import Services

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "The seed's concurrent booking test client, against running booking services.",
        discussion: """
        `concurrent_booking_test.py` with the same flags and printed sections: every user sends \
        POST /bookings/confirm for the same room and stay at the same moment (one connection \
        each), then the status distribution, latency statistics and the seed's PASS/FAIL \
        criteria are printed. Exits 1 when a criterion fails. --url may be repeated to spread \
        users round-robin over several replicas.

        Example:
          overbook load --url http://127.0.0.1:5002/api --users 50 --room-id 1 \\
              --check-in 2026-03-15 --check-out 2026-03-17 --output results.json
        """
    )

    @Option(help: "Booking service API root (repeat for several replicas).")
    var url: [String] = ["http://127.0.0.1:5002/api"]

    @Option(help: "Concurrent users.")
    var users = 50

    @Option(help: "Room to book.")
    var roomId = 1

    @Option(help: "Check-in date, YYYY-MM-DD.")
    var checkIn = "2026-03-15"

    @Option(help: "Check-out date, YYYY-MM-DD.")
    var checkOut = "2026-03-17"

    @Option(help: "Write every request's status and latency, and the summary, to this JSON file.")
    var output: String?

    @Option(help: "Seconds each user waits for an answer.")
    var timeout: Double = 30

    @Option(help: "Successful bookings the test expects (the seed: 1, the room's last unit).")
    var expectedSuccesses = 1

    @Option(help: "The p95 latency the user story allows, in seconds.")
    var p95Limit: Double = 1.5

    func validate() throws {
        try refuse(LoadReport.problem(users: users, room: roomId, checkIn: checkIn, checkOut: checkOut, timeout: timeout))
    }

    func run() throws {
        let passed = try asUsageError(on: ServiceConfigurationError.self, option: "--url") {
            try exitingWithStatus2(on: OutputFileError.self) {
                try LoadReport.run(urls: url, users: users, room: roomId, checkIn: checkIn, checkOut: checkOut, timeout: .milliseconds(Int64(timeout * 1000)),
                                   expectedSuccesses: expectedSuccesses, p95Limit: Int64(p95Limit * 1e9), outputPath: output, output: Console.output)
            }
        }
        if !passed { throw ExitCode(1) }
    }
}
