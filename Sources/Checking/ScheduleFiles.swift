import BookingCore
import Foundation
import RunObservation
import Simulation

/// Why a schedule file cannot be replayed, in words that say what to do.
public struct ScheduleFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension ScheduleFile {
    /// The file's bytes: pretty-printed JSON with sorted keys, the same for the same schedule.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// `name` made safe as a file name, `.json` added.
    public static func fileName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }) + ".json"
    }

    /// Writes this schedule as `directory/name.json` (`name` made a safe file name), creating
    /// the directory; returns the file's path.
    public func write(named name: String, in directory: String) throws(ScheduleFileError) -> String {
        let path = (directory as NSString).appendingPathComponent(Self.fileName(name))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try encoded().write(to: URL(fileURLWithPath: path))
        } catch {
            throw ScheduleFileError("cannot write the schedule file \(path): \(error.localizedDescription)")
        }
        return path
    }

    /// The schedule file at `path` read back.
    public static func read(path: String) throws(ScheduleFileError) -> ScheduleFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScheduleFileError("cannot read the schedule file \(path): \(error.localizedDescription)")
        }
        return try decoded(from: data, path: path)
    }

    /// A schedule file's bytes read back; `path` only names it in the error.
    public static func decoded(from data: Data, path: String) throws(ScheduleFileError) -> ScheduleFile {
        let file: ScheduleFile
        do {
            file = try JSONDecoder().decode(ScheduleFile.self, from: data)
        } catch {
            throw ScheduleFileError("cannot read the schedule file \(path): \(error.localizedDescription) (write one with `overbook check` or `overbook shrink`)")
        }
        guard file.format == "overbook-schedule/1" else {
            throw ScheduleFileError("\(path) is a schedule of format \(file.format); this overbook reads overbook-schedule/1")
        }
        return file
    }

    /// The scenario as this schedule ran: `base` (the scenario file) with the schedule's variant
    /// (named in `variants`), fault profile for its seed, fault specs kept and users kept.
    public func scenario(from base: Scenario, variants: VariantRegistry = .standard, path: String) throws(ScheduleFileError) -> Scenario {
        var scenario = base
        guard let variant = variants.variant(named: variant) else {
            throw ScheduleFileError("\(path) names an unknown variant '\(self.variant)'")
        }
        scenario.variant = variant
        if let profileName = swarm ? "swarm" : profile {
            guard let profile = FaultProfile.named(profileName) else {
                throw ScheduleFileError("\(path) names an unknown fault profile '\(profileName)'")
            }
            scenario = profile.apply(to: scenario, seed: seed)
        }
        if let kept = faults {
            guard kept.allSatisfy({ scenario.faults.indices.contains($0) }) else {
                throw ScheduleFileError("\(path) keeps fault specs \(kept) but the scenario has \(scenario.faults.count): the scenario file changed since it was written")
            }
            scenario.faults = kept.map { scenario.faults[$0] }
        }
        if let users { scenario = scenario.keepingUsers(users) }
        return scenario
    }
}

extension ScheduleFile {
    /// How a replay of this schedule went, line by line: whether every choice was replayed
    /// (`problems`: the run departed from it), and whether the trace hash and the violation came
    /// back (`findings`).
    public func replayReport(_ replayed: ListedChoices, verdict: RunVerdict) -> (problems: [String], findings: [String]) {
        var problems: [String] = []
        var findings: [String] = []
        if let divergence = replayed.divergence {
            problems.append("the run diverged from the schedule at \(divergence): the scenario file or the code changed since it was written")
        } else if replayed.position != choices.count || replayed.beyondEnd > 0 {
            problems.append("the run used \(replayed.position + replayed.beyondEnd) choices; the schedule holds \(choices.count)")
        } else {
            findings.append("schedule: all \(choices.count) choices replayed")
        }
        if let expected = traceHash {
            findings.append("trace hash \(hex(verdict.simulated.traceHash) == expected ? "matches" : "DIFFERS from") the schedule's (\(expected))")
        }
        if let violates {
            let again = verdict.violations.contains { $0.invariant.rawValue == violates }
            findings.append(again ? "violates \(violates) again, as recorded" : "does NOT violate \(violates) this time")
        }
        return (problems, findings)
    }
}

extension Verdicts {
    /// `seed` of `scenario` re-run with its trace and choices recorded, at most `maxSteps` steps;
    /// with `schedule`, making exactly the schedule's choices, and then whether they all were
    /// replayed and the violation came back (see `ScheduleFile.replayReport`).
    public static func replay(_ scenario: Scenario, seed: UInt64, schedule: ScheduleFile?, maxSteps: Int?)
        -> (verdict: RunVerdict, problems: [String], findings: [String]) {
        var budget = SimulationBudget()
        if let maxSteps { budget.maxSteps = maxSteps }
        let listed = schedule.map { ListedChoices($0.choices, groupsSimultaneousTimers: $0.groupsSimultaneousTimers ?? false) }
        let verdict = simulate(scenario, seed: seed, options: SimulationOptions(traceMode: .record, recordChoices: true, budget: budget),
                               source: listed)
        guard let listed, let schedule else { return (verdict, [], []) }
        let (problems, findings) = schedule.replayReport(listed, verdict: verdict)
        return (verdict, problems, findings)
    }
}
