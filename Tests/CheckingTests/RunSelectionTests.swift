import BookingCore
import Checking
import Testing

/// What the CLI hands the library for a simulator command: the options a shard file records,
/// read back as the same arguments; `--shard` picking a process's seeds; the command output.
@Suite struct RunSelectionTests {
    @Test func recordedOptionsReadBackAsTheSameArguments() {
        let selection = RunSelection(scenarioPath: "scenarios/seed-experiment.yaml", variant: "crash-safe", profile: nil, swarm: true,
                                     unavailableMeans: .noEffect)
        #expect(selection.recorded == ["variant": "crash-safe", "swarm": "true", "unavailable-means": "no-effect"])
        #expect(RunSelection.arguments(recorded: selection.recorded) == ["--swarm", "--unavailable-means", "no-effect", "--variant", "crash-safe"])
        #expect(selection.suiteName(Scenario.seedExperiment()) == "seed-experiment --swarm --unavailable-means no-effect --variant crash-safe")
        #expect(selection.faultProfile?.name == "swarm")
        #expect(selection.replay.seed(7) == "overbook replay scenarios/seed-experiment.yaml --variant crash-safe --swarm --unavailable-means no-effect --seed 7")
        #expect(selection.problem == nil)
    }

    @Test func aProfileAndSwarmAreCheckedTogether() {
        func problem(_ profile: String?, swarm: Bool) -> String? {
            RunSelection(scenarioPath: "s.yaml", variant: nil, profile: profile, swarm: swarm, unavailableMeans: nil).problem
        }
        #expect(problem(nil, swarm: false) == nil)
        #expect(problem("swarm", swarm: true) == nil)
        #expect(problem("crashes", swarm: true) == "--swarm is the 'swarm' profile; it cannot be combined with --profile crashes")
        #expect(problem("nope", swarm: false)?.hasPrefix("--profile must be one of: ") == true)
    }

    @Test func aShardOptionPicksThisProcessesSeeds() throws {
        let whole = try SweepShard.select(nil, of: 1...10, environment: [:])
        #expect(whole.shard == nil && whole.seeds == 1...10)
        let second = try SweepShard.select("2/2", of: 1...10, environment: [:])
        #expect(second.shard == SweepShard(index: 2, count: 2) && second.seeds == 6...10)
        let empty = try SweepShard.select("3/5", of: 1...2, environment: [:])
        #expect(empty.shard == SweepShard(index: 3, count: 5) && empty.seeds == nil, "more shards than seeds: this one gets none")
        #expect(throws: SweepShardError.self) { try SweepShard.select("9/2", of: 1...10, environment: [:]) }
    }

    @Test func statusLinesAreRedrawnOnATerminalOnly() {
        final class Written: @unchecked Sendable { var text = "" }
        for onTerminal in [true, false] {
            let written = Written()
            let output = CommandOutput(line: { _ in }, progress: { written.text += $0 }, error: { _ in }, onTerminal: onTerminal)
            output.status("one")
            output.statusDone()
            #expect(written.text == (onTerminal ? "\r\u{1B}[Kone\r\u{1B}[K" : "one\n"))
        }
    }
}
