import ArgumentParser

@main
struct Overbook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overbook",
        abstract: "Tells the truth about a concurrent hotel-booking algorithm under faults.",
        discussion: """
        Runs the seed experiment's booking algorithm in a seeded, deterministic simulator: virtual \
        users, virtual time, simulated Redis, PostgreSQL and network; checks invariants as the run \
        goes and at quiescence; any failing seed replays exactly.

        Examples (each command's --help has more):
          overbook run scenarios/seed-experiment.yaml
          overbook replay scenarios/seed-experiment.yaml --seed 7
          overbook sweep scenarios/seed-experiment.yaml --seeds 1..100000 --swarm --jobs 2
          overbook matrix --seeds 200
          overbook check scenarios/last-room-one-night.yaml --strategy exhaustive --users 2 --max-faults 1
          overbook shrink scenarios/seed-experiment.yaml --swarm --seed 13
          overbook bench
        """,
        subcommands: [RunCommand.self, ReplayCommand.self, CheckCommand.self, ShrinkCommand.self, SweepCommand.self, MatrixCommand.self, BenchCommand.self, HashesCommand.self,
                      ServeCommand.self, RealCommand.self, CalibrateCommand.self, LoadCommand.self, ValidateCommand.self, BenchRealCommand.self, ServersCommand.self, MergeCommand.self,
                      MigrateCommand.self, HealthCommand.self]
    )
}
