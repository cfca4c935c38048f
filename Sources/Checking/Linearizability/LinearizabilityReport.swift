import BookingCore

/// Whether a `BookingHistory` can be explained by some sequential order of its confirms.
public enum LinearizabilityVerdict: Hashable, Sendable {
    case linearizable
    case notLinearizable(NonLinearizableHistory)
    /// The search ran out of its budget (`LinearizabilityChecker.maxStates`) before deciding.
    case unknown(reason: String)
}

/// Room-nights that no operation outside them touches, and the operations on them: a part of
/// the history that can be checked on its own.
public struct HistoryPartition: Hashable, Sendable, CustomStringConvertible {
    public var roomNights: [RoomNight]
    /// Indices into `BookingHistory.operations`, in the order the checker orders them.
    public var operationIndices: [Int]

    public var description: String {
        "\(HistoryText.roomNights(roomNights)) (\(operationIndices.count) confirm\(operationIndices.count == 1 ? "" : "s"))"
    }
}

/// Why a history is not linearizable: the smallest set of answers that no order explains.
public struct NonLinearizableHistory: Hashable, Sendable, CustomStringConvertible {
    /// One sentence, e.g. `req-3 and req-7 were both answered 201 for room 1 night 2026-03-15,
    /// which has capacity 1: no order of the 50 confirms explains both.`
    public var explanation: String
    /// A minimal set of definite answers (`201`/`409`) that cannot all be true: with every other
    /// operation of the partition weakened to "unknown", they still admit no order, and dropping
    /// any one of them admits one.
    public var conflict: [HistoryOperation]
    /// Indices of `conflict` in `BookingHistory.operations`.
    public var conflictIndices: [Int]
    /// The independent part of the history that failed.
    public var partition: HistoryPartition
    /// One line per operation of `conflict`, with what the final read added to it.
    public var details: [String]

    public var description: String {
        ([explanation, "partition: \(partition)"] + details.map { "  \($0)" }).joined(separator: "\n")
    }
}

public struct LinearizabilityReport: Hashable, Sendable, CustomStringConvertible {
    public var verdict: LinearizabilityVerdict
    /// Operations checked (confirms that were sent).
    public var operations: Int
    public var partitions: Int
    public var largestPartition: Int
    /// Distinct search states (linearized set, model state) the main search visited, over every
    /// partition; the search for a minimal explanation is not counted.
    public var statesExplored: Int

    public var isLinearizable: Bool { verdict == .linearizable }

    public var counterexample: NonLinearizableHistory? {
        if case .notLinearizable(let counterexample) = verdict { return counterexample }
        return nil
    }

    public var description: String {
        let counts = "\(operations) confirms, \(partitions) partition\(partitions == 1 ? "" : "s"), \(statesExplored) state\(statesExplored == 1 ? "" : "s") explored"
        switch verdict {
        case .linearizable: return "linearizable (\(counts))"
        case .notLinearizable(let counterexample): return "not linearizable (\(counts)): \(counterexample)"
        case .unknown(let reason): return "undecided (\(counts)): \(reason)"
        }
    }
}
