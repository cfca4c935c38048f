import BookingCore

/// Checks that a history of confirms is linearizable against the booking service's sequential
/// specification (`BookingModel`): the final read is applied first (`FinalRead`), and its
/// outright contradictions are reported before any search; the history is then split into
/// independent parts (`BookingHistory.partitions()`), and each part is searched alone
/// (`LinearizationSearch`). A part that fails is shrunk to a minimal conflict and explained in
/// one sentence.
///
/// The checker is pure and deterministic: no clock, no randomness, and no hash order shapes a
/// result (the search's cache is only asked for membership).
public struct LinearizabilityChecker: Sendable {
    /// The most distinct states the search may visit in any one partition before it answers
    /// `.unknown`. Each state keeps a bitset of the partition's operations in memory.
    public var maxStates: Int

    public init(maxStates: Int = 100_000) {
        self.maxStates = maxStates
    }

    public func check(_ history: BookingHistory) -> LinearizabilityReport {
        let resolved = FinalRead(history)
        let effective = BookingHistory(operations: resolved.operations, capacities: history.capacities)
        let partitions = effective.partitions()
        var report = LinearizabilityReport(verdict: .linearizable, operations: history.operations.count,
                                           partitions: partitions.count,
                                           largestPartition: partitions.map(\.operationIndices.count).max() ?? 0,
                                           statesExplored: 0)
        func details(_ indices: [Int]) -> [String] {
            indices.map { index in "\(history.operations[index])" + (resolved.notes[index].map { "; \($0)" } ?? "") }
        }
        if let contradiction = resolved.contradiction {
            let first = contradiction.operations.first
            let partition = partitions.first { first != nil && $0.operationIndices.contains(first!) }
                ?? HistoryPartition(roomNights: contradiction.roomNights, operationIndices: [])
            report.verdict = .notLinearizable(NonLinearizableHistory(
                explanation: contradiction.explanation, conflict: contradiction.operations.map { history.operations[$0] },
                conflictIndices: contradiction.operations, partition: partition, details: details(contradiction.operations)))
            return report
        }
        var undecided: [String] = []
        for partition in partitions {
            let operations = partition.operationIndices.map { effective.operations[$0] }
            let model = BookingModel(operations: operations, weakened: nil, roomNights: partition.roomNights,
                                     capacities: history.capacities, mustBook: resolved.mustBook)
            let search = LinearizationSearch(model: model, maxStates: maxStates)
            let result = search.run()
            report.statesExplored += search.states
            switch result {
            case .linearizable:
                continue
            case .exhausted:
                undecided.append("\(partition): gave up after \(search.states) states (budget \(maxStates))")
            case .notLinearizable:
                let conflict = minimalConflict(partition: partition, operations: operations, capacities: history.capacities,
                                               mustBook: resolved.mustBook)
                let indices = conflict.map { partition.operationIndices[$0] }
                report.verdict = .notLinearizable(NonLinearizableHistory(
                    explanation: Self.sentence(conflict: conflict.map { operations[$0] },
                                               answered: indices.map { history.operations[$0].outcome },
                                               partitionSize: operations.count, capacities: history.capacities),
                    conflict: indices.map { history.operations[$0] }, conflictIndices: indices, partition: partition,
                    details: details(indices)))
                return report
            }
        }
        if !undecided.isEmpty {
            report.verdict = .unknown(reason: "the search budget ran out in " + undecided.joined(separator: "; "))
        }
        return report
    }
}
