import BookingCore
import Synchronization

/// A per-statement database fault, as the scenario format names them.
public enum StatementFaultKind: String, Codable, Sendable, CaseIterable {
    /// The server aborts the statement's transaction with 40001 or 40P01, alternately.
    case postgresAbort = "postgres-abort"
    /// The server ends the session (`pg_terminate_backend` of the statement's own backend).
    case connectionLoss = "connection-loss"
    /// The statement runs under `statement_timeout`; it fails with 57014 only if it really
    /// waits that long (on a row lock another transaction holds).
    case statementTimeout = "statement-timeout"
}

/// One armed per-statement fault: it fires on `numerator` in `denominator` statements, drawn
/// per statement, at most `limit` times, between `fromMs` and `untilMs` after arming.
public struct StatementFaultRule: Codable, Sendable, Hashable {
    public var kind: StatementFaultKind
    public var numerator: Int
    public var denominator: Int
    public var limit: Int?
    /// The `statement_timeout` of a statement-timeout, in milliseconds.
    public var timeoutMs: Int?
    public var fromMs: Int64?
    public var untilMs: Int64?

    public init(kind: StatementFaultKind, numerator: Int, denominator: Int, limit: Int? = nil, timeoutMs: Int? = nil,
                fromMs: Int64? = nil, untilMs: Int64? = nil) {
        self.kind = kind
        self.numerator = numerator
        self.denominator = denominator
        self.limit = limit
        self.timeoutMs = timeoutMs
        self.fromMs = fromMs
        self.untilMs = untilMs
    }

    enum CodingKeys: String, CodingKey {
        case kind, numerator, denominator, limit
        case timeoutMs = "timeout_ms", fromMs = "from_ms", untilMs = "until_ms"
    }
}

/// What one statement meets, carried out by the real server in the statement's own session.
enum PlannedStatementFault: Sendable {
    case abort(sqlstate: String)
    case connectionLoss
    case timeout(milliseconds: Int)

    var kind: StatementFaultKind {
        switch self {
        case .abort: .postgresAbort
        case .connectionLoss: .connectionLoss
        case .timeout: .statementTimeout
        }
    }
}

/// The per-statement faults a fault-controlled service's PostgreSQL pool meets, armed by the
/// driver (over `/_overbook/faults/statements`) with a seed, drawn per statement in the order
/// the rules were given (the first that fires wins, as in the simulator). A pool without one,
/// as in every plain `overbook serve`, runs its statements untouched.
///
/// Each fault is the server's own doing, so the service's error handling meets exactly what a
/// real failure gives it: an abort is a `RAISE ... USING ERRCODE` in the transaction (the
/// server then refuses the rest of it, as after a real serialization failure or deadlock; the
/// algorithms take row locks in one order, so a real deadlock cannot be staged); a connection
/// loss is the backend terminating itself; a statement timeout is `statement_timeout` set for
/// that one statement.
public final class StatementFaults: Sendable {
    /// One firing, for the driver's timeline: when (milliseconds after arming) and what.
    public struct Firing: Codable, Sendable, Hashable {
        public var atMs: Int64
        public var kind: StatementFaultKind
        /// The SQLSTATE the statement failed with (`nil`: a statement-timeout whose statement
        /// finished in time, so nothing failed).
        public var sqlstate: String?

        enum CodingKeys: String, CodingKey {
            case kind, sqlstate
            case atMs = "at_ms"
        }
    }

    /// The firings kept per arming, the oldest first; later ones are only counted.
    public static let keptFirings = 10_000

    private struct State {
        var rules: [StatementFaultRule] = []
        var firings: [Int] = []
        var random = SplitMix64(seed: 0)
        var armedAt: ContinuousClock.Instant?
        var log: [Firing] = []
        var dropped = 0
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()
    /// postgres-abort at a fault point: the SQLSTATE the next statement of an open transaction
    /// meets (its COMMIT included), once. Apart from `State`: arming rules keeps it.
    private let planted = Mutex<String?>(nil)
    /// Transactions open in the pool now: a planted abort needs one to strike.
    private let openTransactions = Atomic(0)

    public init() {}

    /// Replaces the armed rules; `seed` seeds the per-statement draws.
    public func arm(_ rules: [StatementFaultRule], seed: UInt64) throws(BackendConfigurationError) {
        for rule in rules {
            guard rule.denominator >= 1, (0...rule.denominator).contains(rule.numerator) else {
                throw BackendConfigurationError("a ratio is numerator/denominator with 0 <= numerator <= denominator and denominator >= 1")
            }
            if rule.kind == .statementTimeout {
                guard let timeout = rule.timeoutMs, timeout >= 1 else { throw BackendConfigurationError("a statement-timeout needs timeout_ms of 1 or more") }
            }
            if let limit = rule.limit, limit < 0 { throw BackendConfigurationError("limit must be 0 or more") }
        }
        let now = clock.now
        state.withLock { state in
            state = State(rules: rules, firings: rules.map { _ in 0 }, random: SplitMix64(seed: seed), armedAt: now)
        }
    }

    public func reset() {
        state.withLock { $0 = State() }
        planted.withLock { $0 = nil }
    }

    /// postgres-abort at a fault point, as the simulator plants it: the next statement of a
    /// transaction open in this pool (its `COMMIT` included) is aborted with `sqlstate` by the
    /// server. `false`, planting nothing, when no transaction is open: there is nothing for it
    /// to abort, in the simulator either.
    public func abortNextTransactionStatement(sqlstate: String) -> Bool {
        guard openTransactions.load(ordering: .acquiring) > 0 else { return false }
        planted.withLock { $0 = sqlstate }
        return true
    }

    func takePlantedAbort() -> PlannedStatementFault? {
        planted.withLock { planted in
            defer { planted = nil }
            return planted.map { .abort(sqlstate: $0) }
        }
    }

    func transactionOpened() { openTransactions.add(1, ordering: .relaxed) }
    func transactionEnded() { openTransactions.subtract(1, ordering: .relaxed) }

    public var rules: [StatementFaultRule] { state.withLock { $0.rules } }

    /// The firings since arming, and how many more were not kept.
    public var firings: (kept: [Firing], dropped: Int) { state.withLock { ($0.log, $0.dropped) } }

    /// What the next statement meets, if anything.
    func plan() -> PlannedStatementFault? {
        let now = clock.now
        return state.withLock { state -> PlannedStatementFault? in
            guard let armedAt = state.armedAt, !state.rules.isEmpty else { return nil }
            let elapsed = Self.milliseconds(armedAt.duration(to: now))
            for (index, rule) in state.rules.enumerated() {
                if let from = rule.fromMs, elapsed < from { continue }
                if let until = rule.untilMs, elapsed >= until { continue }
                if let limit = rule.limit, state.firings[index] >= limit { continue }
                guard state.random.next() % UInt64(rule.denominator) < UInt64(rule.numerator) else { continue }
                state.firings[index] += 1
                switch rule.kind {
                case .postgresAbort:
                    return .abort(sqlstate: state.firings[index] % 2 == 1 ? "40001" : "40P01")
                case .connectionLoss:
                    return .connectionLoss
                case .statementTimeout:
                    return .timeout(milliseconds: rule.timeoutMs ?? 1_000)
                }
            }
            return nil
        }
    }

    /// Notes what a planned fault did to its statement.
    func record(_ fault: PlannedStatementFault, failedWith error: StoreError?) {
        let now = clock.now
        state.withLock { state in
            guard let armedAt = state.armedAt else { return }
            guard state.log.count < Self.keptFirings else { return state.dropped += 1 }
            state.log.append(Firing(atMs: Self.milliseconds(armedAt.duration(to: now)), kind: fault.kind,
                                    sqlstate: error.map { $0.sqlstate ?? "connection" }))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
