import BookingCore
import RunObservation
import Checking
import Simulation

extension Timeline {
    /// Where everything goes: the lanes and their rows (users, then each process in `ProcessID`
    /// order), the packing of overlapping spans into rows, and the time scale.
    struct Layout {
        var lanes: [Lane] = []
        var laneOfUser: [Int: Int] = [:]
        var laneOfProcess: [ProcessID: Int] = [:]
        var aggregateLane: Int?
        /// Messages each service handled (indices into `facts.messages`), only those drawn in
        /// detail for services with a lane.
        var handling: [ProcessID: [Int]] = [:]
        var handlingRows: [ProcessID: (rows: [Int], count: Int)] = [:]
        var transactionRows: [ProcessID: (ids: [Int], rows: [Int], count: Int)] = [:]
        /// Lock keys in the order they were first tried.
        var redisKeys: [String] = []
        var plotBottom = 0.0
        var height = 0.0
        var scale: TimeScale

        init(_ input: Input, selection: Selection) {
            scale = Self.timeScale(input)
            addUserLanes(input, selection: selection)
            // Per-process content, computed before the lanes' heights are known.
            for (index, message) in input.facts.messages.enumerated() where message.deliver != nil {
                handling[message.to, default: []].append(index)
            }
            var seen = Set<String>()
            for attempt in input.facts.attempts where seen.insert(attempt.key).inserted { redisKeys.append(attempt.key) }
            for process in selection.processes {
                laneOfProcess[process] = lanes.count
                lanes.append(processLane(process, facts: input.facts, selection: selection))
            }
            stackLanes(violations: input.violations.count)
        }

        /// Every instant drawn.
        static func timeScale(_ input: Input) -> TimeScale {
            let events = input.facts.events
            var times: [Int64] = events.map(\.time)
            for hold in input.facts.locks { times.append(hold.end) }
            for violation in input.violations { times.append(violation.time) }
            for event in events where event.op.rawValue == "fault" && event.a > 0 { times.append(event.time &+ event.a) }
            return TimeScale(times: times, left: labelWidth, width: plotWidth)
        }

        mutating func addUserLanes(_ input: Input, selection: Selection) {
            let outcomes = input.outcomes
            let userCount = outcomes.count
            for user in selection.featured.sorted() where user >= 1 && user <= userCount {
                let outcome = outcomes[user - 1]
                laneOfUser[user] = lanes.count
                lanes.append(Lane(title: outcome.user.rawValue, subtitle: Format.status(outcome.status), cssClass: "lane-user",
                                  user: user, rowHeights: [12]))
            }
            let others = userCount - laneOfUser.count
            if others > 0 {
                aggregateLane = lanes.count
                lanes.append(Lane(title: "other \(Format.count(others)) users", subtitle: "requests in flight", cssClass: "lane-agg", rowHeights: [44]))
            }
        }

        /// A process's lane: a row per concurrent request it handled, a pair of rows per lock
        /// key (Redis), a row per concurrent transaction (PostgreSQL), then its marks row.
        mutating func processLane(_ process: ProcessID, facts: TraceFacts, selection: Selection) -> Lane {
            var lane = Lane(title: process.description, subtitle: role(process.kind), cssClass: "lane-proc", rowHeights: [])
            if let messages = handling[process] {
                let shown = messages.filter { selection.isDetailed(facts.messages[$0].user) }
                let intervals = shown.map { index -> (Int64, Int64) in
                    let message = facts.messages[index]
                    return (message.deliver!.time, message.respond?.time ?? facts.end)
                }
                let packed = pack(intervals, limit: 14)
                handlingRows[process] = (packed.rows, packed.count)
                lane.rowHeights += Array(repeating: 5, count: packed.count)
                handling[process] = shown
            }
            if process.kind == .redis && !redisKeys.isEmpty {
                lane.rowHeights.append(13)  // the lane's title
                lane.rowLabels.append("")
                for key in redisKeys {
                    lane.rowHeights += [11, 6]
                    lane.rowLabels += [key, ""]
                }
            }
            if process.kind == .postgres {
                let ids = facts.transactions.indices.filter { facts.transactions[$0].database == process && selection.isDetailed(facts.transactions[$0].user) }
                let packed = pack(ids.map { (facts.transactions[$0].begin, facts.transactions[$0].end ?? facts.end) }, limit: 12)
                transactionRows[process] = (ids, packed.rows, packed.count)
                lane.rowHeights += Array(repeating: 9, count: packed.count)
            }
            if lane.rowHeights.isEmpty { lane.rowHeights = [10] }
            lane.rowHeights.append(7)  // marks row: generic events and density
            return lane
        }

        /// Lanes one under the other, below the axis and a band for the violations' labels.
        mutating func stackLanes(violations: Int) {
            let violationRows = min(6, violations)
            let violationBand = violationRows == 0 ? 0 : Double(violationRows) * 13 + 4
            var y = axisHeight + violationBand
            for index in lanes.indices {
                lanes[index].y = y
                y += lanes[index].height
            }
            plotBottom = y
            height = y + bottomAxisHeight
        }
    }

    /// Greedy interval packing into at most `limit` rows; returns each interval's row.
    static func pack(_ intervals: [(Int64, Int64)], limit: Int) -> (rows: [Int], count: Int) {
        var rowEnds: [Int64] = []
        var rows: [Int] = []
        for (start, end) in intervals {
            if let free = rowEnds.firstIndex(where: { $0 < start }) {
                rowEnds[free] = end
                rows.append(free)
            } else if rowEnds.count < limit {
                rowEnds.append(end)
                rows.append(rowEnds.count - 1)
            } else {
                // Overflow: the row that frees up first.
                let row = rowEnds.indices.min { rowEnds[$0] < rowEnds[$1] }!
                rowEnds[row] = max(rowEnds[row], end)
                rows.append(row)
            }
        }
        return (rows, max(1, rowEnds.count))
    }
}
