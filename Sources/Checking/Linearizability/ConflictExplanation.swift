import BookingCore

// MARK: - Prose

extension LinearizabilityChecker {
    /// `conflict` as checked (after the final read), `answered` what their clients were told.
    static func sentence(conflict: [HistoryOperation], answered: [ConfirmOutcome], partitionSize: Int,
                         capacities: [RoomNight: Int]) -> String {
        let names = HistoryText.list(conflict.map(\.request.rawValue))
        let all = "no order of the \(partitionSize) confirm\(partitionSize == 1 ? "" : "s")"
        if let night = NonLinearizableHistory.overbookedNight(conflict, capacities: capacities) {
            let capacity = capacities[night] ?? 0
            let verb = if answered.allSatisfy(\.isBooked) {
                conflict.count == 1 ? "was answered 201 for" : conflict.count == 2 ? "were both answered 201 for" : "were all answered 201 for"
            } else {
                conflict.count == 1 ? "booked" : conflict.count == 2 ? "both booked" : "all booked"
            }
            let object = conflict.count == 1 ? "it" : conflict.count == 2 ? "both" : "all \(conflict.count)"
            return "\(names) \(verb) \(night), which has capacity \(capacity): \(all) explains \(object)."
        }
        let refusals = conflict.filter { $0.outcome == .refused }
        let withoutEffect = conflict.filter { $0.outcome == .noEffect }
        if refusals.count == 1, let refused = refusals.first, withoutEffect.count == conflict.count - 1 {
            let capacityText = HistoryText.list(refused.roomNights.map { "\($0.night) has \(capacities[$0] ?? 0)" })
            let when = refused.completedAt.map { " by \(HistoryText.time($0))" } ?? ""
            let sent = withoutEffect.isEmpty ? "had been sent" : "that took effect had been sent"
            let unbooked = withoutEffect.isEmpty ? "" : " (\(HistoryText.list(withoutEffect.map(\.request.rawValue))) booked nothing: "
                + "\(withoutEffect.count == 1 ? "no booking holds it" : "no booking holds them") at the end)"
            return "\(refused.request) was answered 409 (no room) for \(refused.stay), but too few confirms for those nights "
                + "\(sent)\(when) to fill them (capacity: \(capacityText))\(unbooked): \(all) explains the refusal."
        }
        return "\(names) cannot all have been answered as they were: \(all), each placed between its sending "
            + "and its answer, gives \(conflict.count == 2 ? "both" : "all \(conflict.count)") those answers."
    }
}

extension HistoryText {
    /// `a`, `a and b`, `a, b and c`.
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// Room-nights grouped by room, consecutive nights as ranges: `room 1 nights 2026-03-15..2026-03-16`.
    static func roomNights(_ nights: [RoomNight]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = nights.sorted()
        while index < sorted.count {
            let room = sorted[index].room
            var ranges: [String] = []
            while index < sorted.count && sorted[index].room == room {
                let start = sorted[index].night
                var end = start
                index += 1
                while index < sorted.count && sorted[index].room == room && sorted[index].night == end.adding(days: 1) {
                    end = sorted[index].night
                    index += 1
                }
                ranges.append(start == end ? "\(start)" : "\(start)..\(end)")
            }
            parts.append("room \(room) night\(ranges.count == 1 && !ranges[0].contains("..") ? "" : "s") \(ranges.joined(separator: ", "))")
        }
        return parts.joined(separator: "; ")
    }
}
