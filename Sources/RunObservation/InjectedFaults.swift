import BookingCore

// What real mode did with a scenario's faults, for the summary and the report.

/// A fault as `overbook real` carried it out on the real stack.
public struct FiredFault: Sendable, Hashable {
    public var kind: FaultKind
    /// Wall-clock nanoseconds from the start of the load.
    public var at: Int64
    /// What was done, e.g. "pause booking-1: SIGSTOP for 12.000s".
    public var mechanism: String

    public init(kind: FaultKind, at: Int64, mechanism: String) {
        self.kind = kind
        self.at = at
        self.mechanism = mechanism
    }
}

/// A fault of the scenario that real mode does not carry out, and why: reported, never
/// silently skipped.
public struct SkippedFault: Sendable, Hashable {
    public var spec: FaultSpec
    public var reason: String

    public init(spec: FaultSpec, reason: String) {
        self.spec = spec
        self.reason = reason
    }

    public var line: String { "\(spec): not injected in real mode: \(reason)" }
}

extension Array where Element == FiredFault {
    /// `pause 1, reply-loss 3`, in the scenario format's kind order; "none" when empty.
    public var countsByKind: String { FaultKind.counts(map(\.kind)) }
}

extension Array where Element == SkippedFault {
    /// As `FiredFault`'s: how many faults of each kind were not injected.
    public var countsByKind: String { FaultKind.counts(map(\.spec.kind)) }
}

extension FaultKind {
    static func counts(_ kinds: [FaultKind]) -> String {
        let counts = Dictionary(grouping: kinds, by: { $0 }).mapValues(\.count)
        guard !counts.isEmpty else { return "none" }
        return counts.keys.sorted().map { "\($0.rawValue) \(counts[$0]!)" }.joined(separator: ", ")
    }
}
