import BookingCore
import Checking
import Foundation
import Reports
import RunObservation

/// `overbook real`: a scenario run `runs` times on the real stack, each run judged as a
/// simulated one is; then the same scenario simulated for seeds 1...runs, both latency
/// distributions printed side by side and the real-mode report published. Its lines go to
/// `output`.
public struct RealExperiment: Sendable {
    public var scenarioPath: String
    /// The scenario with the command's --variant and --replicas applied.
    public var scenario: Scenario
    public var runs: Int
    /// `--run N`: every one of the `runs` plays run N's draws (its faults, arrivals and request
    /// ids), to repeat a real run that failed; `nil`: runs 1...runs.
    public var repeatedRun: UInt64?
    /// The profile each run applies for its number (`--swarm` is the swarm profile).
    public var profile: FaultProfile?
    /// Redis and PostgreSQL were started for the runs (not given by URL).
    public var throwawayBackends: Bool
    /// `--variant` and `--replicas` as given, for the simulated counterpart's command.
    public var variantOption: String?
    public var replicasOption: Int?
    public var reports: ReportPublisher
    public var output: CommandOutput

    public init(scenarioPath: String, scenario: Scenario, runs: Int, repeatedRun: UInt64? = nil, profile: FaultProfile?, throwawayBackends: Bool,
                variantOption: String?, replicasOption: Int?, reports: ReportPublisher, output: CommandOutput) {
        self.scenarioPath = scenarioPath
        self.scenario = scenario
        self.runs = runs
        self.repeatedRun = repeatedRun
        self.profile = profile
        self.throwawayBackends = throwawayBackends
        self.variantOption = variantOption
        self.replicasOption = replicasOption
        self.reports = reports
        self.output = output
    }

    public typealias Judged = (verdict: RunVerdict, duration: Int64, faults: [FiredFault], notInjected: [SkippedFault])

    /// Runs the experiment: `session` starts the real stack for the body it is given (and stops
    /// it). Returns whether every run held every invariant and met the seed's criteria.
    public func run(in session: (_ body: @escaping @Sendable (RealStack) async throws -> [Judged]) throws -> [Judged]) throws -> Bool {
        let capabilities = RealFaultCapabilities(bookingReplicas: scenario.bookingReplicas, ownsRedis: throwawayBackends)
        let (injected, notInjected) = RealFaultInjector.plan(scenario.faults, capabilities)
        output.line("overbook real: scenario=\(scenarioPath) variant=\(scenario.variant.rawValue) users=\(scenario.userCount) "
                    + "booking_replicas=\(scenario.bookingReplicas) runs=\(runs) lock_ttl=\(formatSeconds(scenario.lock.ttl.nanoseconds)) "
                    + "client_timeout=\(formatSeconds(scenario.clientTimeout.nanoseconds)) backends=\(throwawayBackends ? "throwaway" : "given")")
        if !scenario.faults.isEmpty {
            output.line("faults: \(injected.count) of the scenario's \(scenario.faults.count) carried out on the real stack, through loopback proxies on every service hop")
            for skipped in notInjected { output.line("  \(skipped.line)") }
        }
        if let profile {
            output.line("profile \(profile.name): each run applies it for its number (run N as simulated seed N), through loopback proxies on every service hop")
        }
        output.flush()
        let judged = try session { stack in try await runs(on: stack) }
        let done = judged.map { RealReport.Run(verdict: $0.verdict, duration: $0.duration, faults: $0.faults) }
        let verdicts = done.map(\.verdict)
        var batch = BatchSummary()
        for verdict in verdicts { batch.add(verdict) }
        output.line(runs == 1 ? SummaryText.render(verdicts[0], origin: .real) : SummaryText.render(batch, scenario: scenario, firstSeed: 1, origin: .real))
        let perRun = profile != nil
        if !scenario.faults.isEmpty || perRun {
            let skipped = perRun ? judged.flatMap(\.notInjected) : notInjected
            output.line("faults fired on the real stack\(runs == 1 ? "" : " in \(runs) runs"): \(done.flatMap(\.faults).countsByKind)"
                        + (skipped.isEmpty ? "" : "; not injected: \(perRun ? skipped.countsByKind : skipped.map(\.spec.kind.rawValue).joined(separator: ", "))"))
        }
        // The simulated counterpart leaves out what real mode left out, so the two compare.
        var simulatedScenario = scenario
        simulatedScenario.faults = injected
        report(done, scenario: simulatedScenario, notInjected: notInjected, capabilities: capabilities)
        return verdicts.allSatisfy(\.passedAll)
    }

    /// The runs on `stack`, each fault announced as it fires and each run's result on `progress`.
    func runs(on stack: RealStack) async throws -> [Judged] {
        let (output, runs, profile) = (output, runs, profile)
        let real = RealRun(stack: stack, scenario: scenario, profile: profile, announce: { line in
            output.line("  \(line)")
            output.flush()
        })
        let numbers = repeatedRun.map { Array(repeating: $0, count: runs) } ?? Array(1...UInt64(runs))
        let evidenceRoot = reports.wanted ? reports.path.map { ($0 as NSString).deletingLastPathComponent } ?? ReportPaths.directory : nil
        return try await real.judged(numbers, evidenceRoot: evidenceRoot.map { $0.isEmpty ? "." : $0 }) { run, verdict, duration in
            if let profile {
                let drawn = real.scenario(forRun: run).faults.map(\.kind.rawValue)
                output.line("run \(run): \(profile.name) faults: \(drawn.isEmpty ? "none" : drawn.joined(separator: ", "))")
            }
            guard runs > 1 else { return }
            output.progress("run \(run)\(repeatedRun == nil ? "/\(runs)" : ""): \(verdict.statusSummary); p95 \(formatSeconds(verdict.latency.p95)), "
                            + "mean \(formatSeconds(verdict.latency.mean)), \(formatSeconds(duration)) in all; "
                            + "\(verdict.passedAll ? "PASS" : "FAIL")\n")
        }
    }

    /// Simulates the same scenario for seeds 1...runs (as `overbook run` does), prints both
    /// latency distributions, and publishes the real-mode report.
    func report(_ done: [RealReport.Run], scenario: Scenario, notInjected: [SkippedFault], capabilities: RealFaultCapabilities) {
        let simulated = RealReport.simulatedCounterparts(runs: runs) { seed in
            guard let profile else { return scenario }
            var drawn = profile.apply(to: scenario, seed: repeatedRun ?? seed)
            drawn.faults = RealFaultInjector.plan(drawn.faults, capabilities).injected
            return drawn
        }
        output.line(RealReport.latencyComparison(real: done.map(\.verdict), simulated: simulated))
        guard reports.wanted else { return }
        let command = RealReport.simulatedCommand(scenarioPath: scenarioPath, runs: runs, variant: variantOption, replicas: replicasOption,
                                                  faultsDropped: notInjected.count)
        let context = ReportPublisher.context(scenarioPath: scenarioPath, replayCommand: nil,
                                              wallSeconds: Double(done.reduce(0) { $0 + $1.duration }) / 1e9)
        let html = RealReport.html(runs: done, simulated: simulated, context: context, simulatedCommand: command, notInjected: notInjected,
                                   backends: throwawayBackends ? "throwaway servers started for the run" : "given by URL (--redis-url, --*-database-url)")
        reports.publish(html, to: reports.path ?? ReportPaths.real(scenario: scenario.name, runs: runs))
    }
}

extension ScheduleReplay {
    /// `overbook real --schedule`: the story of the schedule file at `schedulePath` followed on
    /// the real stack `runs` times (`session` starts it for the body it is given), each run's
    /// result and the replay report published. Returns whether no run broke a safety invariant
    /// (latency says nothing of a run held at barriers).
    public func run(_ runs: Int, scenarioPath: String, schedulePath: String, reports: ReportPublisher, output: CommandOutput,
                    in session: (_ body: @escaping @Sendable (RealStack) async throws -> [Result]) throws -> [Result]) throws -> Bool {
        output.line("overbook real: scenario=\(scenarioPath) schedule=\(schedulePath) story of variant=\(file.variant), served variant=\(scenario.variant.rawValue) "
                    + "users=\(scenario.userCount) booking_replicas=\(scenario.bookingReplicas) runs=\(runs) lock_ttl=\(formatSeconds(scenario.lock.ttl.nanoseconds))")
        output.line("simulated replay: " + (simulatedProblems + simulatedFindings).joined(separator: "; "))
        output.line(storyText)
        output.flush()
        let results = try session { stack in
            var results: [Result] = []
            for run in 1...UInt64(runs) {
                let result = try await self.run(run, on: stack) { line in
                    if run == 1 { output.line("  \(line)") }
                    output.flush()
                }
                output.line("run \(run): \(result.verdict.statusSummary); \(line(result))")
                output.flush()
                results.append(result)
            }
            return results
        }
        let reproduced = results.filter(\.reproduced).count
        let followed = results.filter { $0.outcome.departure == nil }.count
        output.line("\(invariant.map { "\($0.rawValue): " } ?? "")reproduced on real Redis and PostgreSQL in \(reproduced) of \(runs) run\(runs == 1 ? "" : "s"); "
                    + "the story followed to its end in \(followed) of \(runs); faults fired: \(results.flatMap(\.outcome.run.faults).countsByKind)")
        if reports.wanted {
            let done = results.map { RealReport.Run(verdict: $0.verdict, duration: $0.outcome.run.duration, faults: $0.outcome.run.faults) }
            let context = ReportPublisher.context(scenarioPath: scenarioPath, replayCommand: "overbook replay \(scenarioPath) --schedule \(schedulePath)",
                                                  wallSeconds: Double(done.reduce(0) { $0 + $1.duration }) / 1e9)
            let html = RealReport.html(runs: done, simulated: [simulated], context: context,
                                       simulatedCommand: "overbook replay \(scenarioPath) --schedule \(schedulePath)",
                                       replayed: results.map { "run \($0.run): \(line($0))" })
            reports.publish(html, to: reports.path ?? ReportPaths.real(scenario: "\(scenario.name)-schedule-\(scenario.variant.rawValue)", runs: runs))
        }
        return !results.contains { $0.verdict.violations.contains { safetyInvariants.contains($0.invariant) } }
    }
}

extension RealExperiment {
    /// What is wrong with `overbook real`'s options (`schedule`: `--schedule` given), in their
    /// words, the first problem in this order; `nil` if nothing.
    public static func problem(runs: Int, replicas: Int?, variant: String?, variants: VariantRegistry, repeatedRun: UInt64?, schedule: Bool,
                               swarm: Bool, profile: String?) -> String? {
        guard runs >= 1 else { return "--runs must be at least 1" }
        if let replicas, replicas < 1 { return "--replicas must be at least 1" }
        if let problem = variant.flatMap({ variants.problem($0) }) { return problem }
        if repeatedRun == 0 { return "--run counts from 1" }
        if schedule && (swarm || profile != nil || replicas != nil) {
            return "--schedule replays the file's own users, faults and replicas; drop --swarm, --profile and --replicas"
        }
        if let profile, FaultProfile.named(profile) == nil || swarm {
            return swarm ? "--swarm is the 'swarm' profile; drop --profile \(profile)"
                : "--profile must be one of: \(FaultProfile.all.map(\.name).joined(separator: ", ")); got '\(profile)'"
        }
        return nil
    }
}
