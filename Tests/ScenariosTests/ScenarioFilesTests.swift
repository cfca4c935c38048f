import BookingCore
import Foundation
import Scenarios
import Testing

/// The versioned files in `scenarios/` must always load, and the seed experiment's file must
/// say exactly what `Scenario.seedExperiment()` says.
@Suite struct ScenarioFilesTests {
    static let scenariosDirectory: String = {
        // Tests/ScenariosTests/ThisFile.swift -> package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("scenarios").path
    }()

    static var yamlFiles: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosDirectory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func load(_ name: String) throws -> Scenario {
        try ScenarioLoader.load(path: "\(scenariosDirectory)/\(name)")
    }

    @Test func theExpectedFilesExist() {
        #expect(Set(Self.yamlFiles).isSuperset(of: ["overlapping-stays.yaml", "seed-experiment.yaml", "thundering-herd-5000.yaml"]))
    }

    @Test(arguments: yamlFiles)
    func everyFileLoads(name: String) throws {
        let scenario = try Self.load(name)
        // The scenario's name is how people refer to the file; keep the two the same.
        #expect(scenario.name + ".yaml" == name)
        #expect(scenario.userCount > 0)
    }

    /// The real-replay scenarios (`scenarios/real/`): each loads, is named `real-<file>`, and
    /// keeps its users few and its lock's TTL short enough for a replay to take seconds.
    @Test func everyRealReplayScenarioLoads() throws {
        let directory = Self.scenariosDirectory + "/real"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names == ["crash-between-commits.yaml", "lock-expiry.yaml", "lost-reserve-reply.yaml", "overlapping-stays.yaml", "retry-double-booking.yaml"])
        for name in names {
            let scenario = try ScenarioLoader.load(path: "\(directory)/\(name)")
            #expect(scenario.name == "real-" + name.dropLast(".yaml".count))
            #expect(scenario.userCount <= 2)
        }
    }

    @Test func seedExperimentFileMatchesTheBuiltInScenario() throws {
        let loaded = try Self.load("seed-experiment.yaml")
        let expected = Scenario.seedExperiment()
        // Field by field so a difference names itself; name and summary are prose.
        #expect(loaded.seed == expected.seed)
        #expect(loaded.variant == expected.variant)
        #expect(loaded.rooms == expected.rooms)
        #expect(loaded.inventoryNights == expected.inventoryNights)
        #expect(loaded.users == expected.users)
        #expect(loaded.bookingReplicas == expected.bookingReplicas)
        #expect(loaded.latency == expected.latency)
        #expect(loaded.clientTimeout == expected.clientTimeout)
        #expect(loaded.lock == expected.lock)
        #expect(loaded.inventoryTimeout == expected.inventoryTimeout)
        #expect(loaded.faults == expected.faults)
        #expect(loaded.slo == expected.slo)
        #expect(loaded.expectedSuccesses == expected.expectedSuccesses)
        // And nothing else differs: a field added to Scenario later must be checked here too.
        var renamed = loaded
        renamed.name = expected.name
        renamed.summary = expected.summary
        #expect(renamed == expected)
    }

    @Test func thunderingHerdIsTheSeedExperimentWith5000Users() throws {
        var loaded = try Self.load("thundering-herd-5000.yaml")
        let expected = Scenario.seedExperiment(users: 5_000)
        #expect(loaded.userCount == 5_000)
        loaded.name = expected.name
        loaded.summary = expected.summary
        #expect(loaded == expected)
    }

    @Test func overlappingStaysShareOneNight() throws {
        let scenario = try Self.load("overlapping-stays.yaml")
        #expect(scenario.expectedSuccesses == nil)
        #expect(scenario.userCount == 40)
        let stays = scenario.users.map(\.stay)
        #expect(stays.count == 2)
        #expect(stays.allSatisfy { $0.room == RoomID(1) })
        #expect(stays[0].checkIn != stays[1].checkIn)
        #expect(Set(stays[0].nights).intersection(stays[1].nights) == [Night(iso: "2026-03-16")!])
        #expect(scenario.users.allSatisfy { $0.arrival == .uniform(.zero, .milliseconds(20)) })
    }
}
