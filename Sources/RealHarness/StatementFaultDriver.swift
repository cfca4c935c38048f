import Backends
import BookingCore
import Foundation
import RunObservation
import Services
import Synchronization

/// The per-statement database faults of one real run (postgres-abort, connection-loss and
/// statement-timeout with a ratio): armed in each target service's PostgreSQL pool over its
/// `/_overbook/faults/statements` before the load, drawn there per statement from a seed of the
/// run, carried out by the server (see `StatementFaults`), harvested from the services as the
/// run goes (a crashed process loses only what it did since the last look) and re-armed in a
/// process the run restarts.
final class StatementFaultDriver: Sendable {
    /// How often the firings are read back, so a crash loses little of them.
    static let harvestInterval: Duration = .milliseconds(250)

    private struct Incarnation {
        var armedAt: ContinuousClock.Instant
        var firings: [StatementFaults.Firing] = []
        var dropped = 0
    }

    private struct State {
        /// Per service, one entry per process that served under that name in this run.
        var incarnations: [String: [Incarnation]] = [:]
        var harvester: Task<Void, Never>?
        var problems: [String] = []
    }

    private let stack: RealStack
    /// Per service name, its rules in the scenario's order, and the seed of its draws.
    private let plan: [(name: String, rules: [StatementFaultRule], seed: UInt64)]
    private let state = Mutex(State())

    /// `faults`: each per-statement fault with its kind and target (`nil`: every service).
    init?(faults: [(spec: FaultSpec, kind: StatementFaultKind)], stack: RealStack, random: inout SplitMix64) {
        let services = stack.replicas.map(\.name) + ["inventory"]
        var plan: [(name: String, rules: [StatementFaultRule], seed: UInt64)] = []
        for name in services {
            let rules = faults.filter { Self.names($0.spec.target, services).contains(name) }.map { Self.rule($0.spec, $0.kind) }
            if !rules.isEmpty { plan.append((name, rules, random.next())) }
        }
        guard !plan.isEmpty else { return nil }
        self.stack = stack
        self.plan = plan
    }

    static func names(_ target: ProcessSelector?, _ services: [String]) -> [String] {
        switch target {
        case nil: services
        case .booking(nil)?: services.filter { $0.hasPrefix("booking") }
        case .booking(let index?)?: ["booking-\(index)"]
        case .inventory?: ["inventory"]
        default: []
        }
    }

    static func rule(_ spec: FaultSpec, _ kind: StatementFaultKind) -> StatementFaultRule {
        guard case .ratio(let ratio, let from, let until) = spec.trigger else {
            preconditionFailure("a per-statement fault has a ratio trigger")
        }
        return StatementFaultRule(kind: kind, numerator: ratio.numerator, denominator: ratio.denominator, limit: spec.limit,
                                  timeoutMs: kind == .statementTimeout ? Int(max(1, milliseconds(spec.duration))) : nil,
                                  fromMs: from.map(milliseconds), untilMs: until.map(milliseconds))
    }

    private static func milliseconds(_ duration: Duration) -> Int64 { duration.nanoseconds / 1_000_000 }

    /// Arms every target service, then reads their firings back every `harvestInterval`.
    func arm() async throws {
        for entry in plan { try await arm(entry.name, rules: entry.rules, seed: entry.seed) }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.harvestInterval)
                await self?.harvest()
            }
        }
        state.withLock { $0.harvester = task }
    }

    private func arm(_ name: String, rules: [StatementFaultRule], seed: UInt64) async throws {
        guard let child = stack.child(named: name) else { throw RealModeError("no running service named \(name) to arm statement faults in") }
        let armedAt = ContinuousClock.now
        try await FaultControlClient(serviceURL: child.baseURL, client: stack.client).armStatements(rules, seed: seed)
        state.withLock { $0.incarnations[name, default: []].append(Incarnation(armedAt: armedAt)) }
    }

    /// `name` is a fresh process (the run crashed and restarted it): armed again, with each
    /// rule's limit less what its predecessors fired, and a seed of its own.
    func restarted(_ name: String) async {
        guard let entry = plan.first(where: { $0.name == name }) else { return }
        let fired = state.withLock { $0.incarnations[name]?.flatMap(\.firings) ?? [] }
        let rules = entry.rules.map { rule in
            var rule = rule
            rule.limit = rule.limit.map { max(0, $0 - fired.filter { $0.kind == rule.kind }.count) }
            return rule
        }
        let generation = UInt64(state.withLock { $0.incarnations[name]?.count ?? 0 })
        do {
            try await arm(name, rules: rules, seed: entry.seed &+ generation)
        } catch {
            state.withLock { $0.problems.append("statement faults in \(name): could not arm them again after its restart: \(error)") }
        }
    }

    /// Reads each service's firings; an answer shorter than what is held (a process that
    /// restarted since the look began) changes nothing.
    private func harvest() async {
        for entry in plan {
            guard let child = stack.child(named: entry.name), child.process.isRunning,
                  let snapshot = try? await FaultControlClient(serviceURL: child.baseURL, client: stack.client).statements() else { continue }
            state.withLock { state in
                guard var latest = state.incarnations[entry.name]?.last, snapshot.firings.count >= latest.firings.count else { return }
                latest.firings = snapshot.firings
                latest.dropped = snapshot.dropped
                state.incarnations[entry.name]![state.incarnations[entry.name]!.count - 1] = latest
            }
        }
    }

    /// The run was cancelled: no more harvesting.
    func cancel() {
        state.withLock { $0.harvester?.cancel() }
    }

    /// After the load: the last harvest, every service disarmed, and what fired, as faults on
    /// the run's timeline (from `origin`) and one summary line per service and kind.
    func finish(origin: ContinuousClock.Instant) async -> (fired: [FiredFault], lines: [String], problems: [String]) {
        state.withLock { $0.harvester?.cancel() }
        await state.withLock({ $0.harvester })?.value
        await harvest()
        for entry in plan {
            guard let child = stack.child(named: entry.name), child.process.isRunning else { continue }
            try? await FaultControlClient(serviceURL: child.baseURL, client: stack.client).armStatements([], seed: 0)
        }
        let (incarnations, problems) = state.withLock { ($0.incarnations, $0.problems) }
        var fired: [FiredFault] = []
        var lines: [String] = []
        for entry in plan {
            let lives = incarnations[entry.name] ?? []
            var counts: [StatementFaultKind: (effective: Int, harmless: Int)] = [:]
            for life in lives {
                let offset = ConfirmLoad.nanoseconds(origin.duration(to: life.armedAt))
                for firing in life.firings {
                    let effective = firing.sqlstate != nil
                    counts[firing.kind, default: (0, 0)].effective += effective ? 1 : 0
                    counts[firing.kind, default: (0, 0)].harmless += effective ? 0 : 1
                    guard effective else { continue }
                    fired.append(FiredFault(kind: FaultKind(firing.kind), at: offset + firing.atMs * 1_000_000,
                                            mechanism: Self.mechanism(firing, in: entry.name, rules: entry.rules)))
                }
            }
            let dropped = lives.map(\.dropped).reduce(0, +)
            for kind in StatementFaultKind.allCases where entry.rules.contains(where: { $0.kind == kind }) {
                let count = counts[kind] ?? (0, 0)
                let limitShared = plan.filter { $0.rules.contains { $0.kind == kind && $0.limit != nil } }.count > 1
                lines.append(Self.summary(kind, in: entry.name, count.effective, harmless: count.harmless, rules: entry.rules,
                                          limitPerProcess: limitShared)
                             + (dropped > 0 ? " (\(dropped) more firings not kept)" : ""))
            }
        }
        return (fired.sorted { $0.at < $1.at }, lines, problems)
    }

    static func mechanism(_ firing: StatementFaults.Firing, in name: String, rules: [StatementFaultRule]) -> String {
        switch firing.kind {
        case .postgresAbort:
            "postgres-abort \(name): PostgreSQL aborted a statement's transaction with SQLSTATE \(firing.sqlstate ?? "?") (raised in it, in place of the statement)"
        case .connectionLoss:
            "connection-loss \(name): the backend serving a statement terminated itself (pg_terminate_backend(pg_backend_pid()), FATAL 57P01)"
        case .statementTimeout:
            firing.sqlstate == "57014"
                ? "statement-timeout \(name): a statement waited past its statement_timeout of \(timeout(rules)) and was cancelled (57014)"
                : "statement-timeout \(name): a statement under statement_timeout \(timeout(rules)) failed otherwise (\(firing.sqlstate ?? "?"))"
        }
    }

    static func summary(_ kind: StatementFaultKind, in name: String, _ effective: Int, harmless: Int, rules: [StatementFaultRule],
                        limitPerProcess: Bool) -> String {
        let perProcess = limitPerProcess ? "; its limit counts in each process apart" : ""
        return switch kind {
        case .postgresAbort:
            "postgres-abort \(name): \(effective) statement(s) aborted by PostgreSQL (40001/40P01 raised in the transaction)\(perProcess)"
        case .connectionLoss:
            "connection-loss \(name): \(effective) statement(s) met their backend terminating itself\(perProcess)"
        case .statementTimeout:
            "statement-timeout \(name): statement_timeout \(timeout(rules)) set on \(effective + harmless) statement(s); "
                + "\(effective) waited past it and failed, the others finished in time\(perProcess)"
        }
    }

    private static func timeout(_ rules: [StatementFaultRule]) -> String {
        rules.first { $0.kind == .statementTimeout }?.timeoutMs.map { "\($0)ms" } ?? "?"
    }
}

extension FaultKind {
    init(_ kind: StatementFaultKind) {
        self = switch kind {
        case .postgresAbort: .postgresAbort
        case .connectionLoss: .connectionLoss
        case .statementTimeout: .statementTimeout
        }
    }
}
