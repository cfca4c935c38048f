import ArgumentParser
import Checking
import RealHarness

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure simulator throughput (build with -c release for real figures).",
        discussion: """
        Prints seed-experiment runs per second on one core with every check on, and the cost per \
        user request at 50, 500 and 5,000 users.

        Example:
          swift build -c release && .build/release/overbook bench
        """
    )

    @Option(help: "Wall-clock seconds to spend on each measurement.")
    var seconds: Double = 3

    @Option(parsing: .upToNextOption, help: "User counts for the per-user cost table.")
    var users: [Int] = [50, 500, 5000]

    @Option(help: "Seeds per sweep-throughput measurement (swarm mode, seed experiment).")
    var sweepSeeds: Int = 2000

    func run() throws {
        if let warning = SimulatorBenchmark.debugBuildWarning { print(warning) }
        print("overbook bench: seconds=\(seconds) users=\(users.map(String.init).joined(separator: ","))")
        SimulatorBenchmark.report(seconds: seconds, users: users, sweepSeeds: sweepSeeds, now: wallSeconds(),
                                  sweep: { $0.run(label: "bench sweep", output: Console.output, now: wallSeconds()) }, emit: { print($0) })
    }
}
