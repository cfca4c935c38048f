import BookingCore
import RunObservation
import Checking
import Simulation

/// The replay timeline, in the spirit of Jepsen's `timeline.html`: one lane per process, drawn on
/// virtual time. Users' requests, lock holds (Redis), transactions (each database), the work each
/// service did, and every operation it has no special drawing for (faults, future event kinds)
/// as a generic mark. Every mark has a `<title>` (hover for details) and `data-u`, the user it
/// worked for, which the page's script uses to light up one user's whole story.
struct Timeline {
    struct Input {
        var facts: TraceFacts
        var outcomes: [ClientOutcome]
        /// Users (1-based client index) the violations involve: always drawn, outlined in red.
        var highlighted: Set<Int>
        /// Numbered steps of the explanation: event index → step number.
        var steps: [Int: Int]
        var violations: [Violation]
    }

    /// Past this many users, the others are drawn as one aggregate lane and density strips.
    static let detailedUserLimit = 60
    static let featuredUserLimit = 40

    static let labelWidth = 190.0
    static let plotWidth = 1070.0
    static let axisHeight = 30.0
    static let bottomAxisHeight = 38.0

    struct Lane {
        var title: String
        var subtitle: String
        var cssClass: String
        var user: Int?
        var rowLabels: [String] = []
        var rowHeights: [Double]
        var y: Double = 0
        var height: Double { rowHeights.reduce(0, +) + 8 }
        func rowTop(_ row: Int) -> Double { y + 4 + rowHeights.prefix(row).reduce(0, +) }
        func rowMiddle(_ row: Int) -> Double { rowTop(row) + rowHeights[row] / 2 }
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

    static func statusClass(_ status: Int?) -> String {
        guard let status else { return "s-none" }
        switch status {
        case 201: return "s-201"
        case 409: return "s-409"
        case 503: return "s-503"
        case 200..<300: return "s-2xx"
        case 400..<500: return "s-4xx"
        default: return "s-5xx"
        }
    }

    static func render(_ input: Input) -> HTML {
        let facts = input.facts
        let events = facts.events
        let outcomes = input.outcomes
        let userCount = outcomes.count

        // Which users get their own lane and full detail.
        var featured = Set<Int>()
        if userCount <= detailedUserLimit {
            featured = Set(1...max(1, userCount))
        } else {
            var order: [Int] = input.highlighted.sorted()
            order += outcomes.enumerated().filter { $0.element.status == StatusCode.created }.map { $0.offset + 1 }
            order += outcomes.enumerated().filter { !$0.element.finished || $0.element.status == nil }.map { $0.offset + 1 }
            var seenStatus: [Int: Int] = [:]
            for (index, outcome) in outcomes.enumerated() {
                let key = outcome.status ?? -1
                if seenStatus[key, default: 0] < 5 { seenStatus[key, default: 0] += 1; order.append(index + 1) }
            }
            for user in order where featured.count < featuredUserLimit || input.highlighted.contains(user) { featured.insert(user) }
        }
        func detailed(_ user: Int) -> Bool { user == 0 || featured.contains(user) }

        // Lanes: users, then each process in ProcessID order.
        var processes = Set<ProcessID>()
        for event in events {
            processes.insert(event.process.id)
            if case .process(let id) = event.subject { processes.insert(id) }
        }
        processes = processes.filter { $0.kind != .client }
        if !facts.attempts.isEmpty { processes.insert(ProcessID(kind: .redis, index: 0)) }
        let hasOtherEvents = events.contains { $0.process.id.kind == .harness && !Self.drawnOps.contains($0.op) }
        if !hasOtherEvents { processes = processes.filter { $0.kind != .harness } }

        var lanes: [Lane] = []
        var laneOfUser: [Int: Int] = [:]
        var laneOfProcess: [ProcessID: Int] = [:]
        for user in featured.sorted() where user >= 1 && user <= userCount {
            let outcome = outcomes[user - 1]
            laneOfUser[user] = lanes.count
            lanes.append(Lane(title: outcome.user.rawValue, subtitle: Format.status(outcome.status), cssClass: "lane-user",
                              user: user, rowHeights: [12]))
        }
        let others = userCount - laneOfUser.count
        var aggregateLane: Int?
        if others > 0 {
            aggregateLane = lanes.count
            lanes.append(Lane(title: "other \(Format.count(others)) users", subtitle: "requests in flight", cssClass: "lane-agg", rowHeights: [44]))
        }

        // Per-process content, computed before the lanes' heights are known.
        var handling: [ProcessID: [Int]] = [:]  // messages handled (by index into facts.messages)
        for (index, message) in facts.messages.enumerated() where message.deliver != nil {
            handling[message.to, default: []].append(index)
        }
        let redisKeys: [String] = {
            var seen = Set<String>()
            var keys: [String] = []
            for attempt in facts.attempts where seen.insert(attempt.key).inserted { keys.append(attempt.key) }
            return keys
        }()

        var handlingRows: [ProcessID: (rows: [Int], count: Int)] = [:]
        var transactionRows: [ProcessID: (ids: [Int], rows: [Int], count: Int)] = [:]
        for process in processes.sorted() {
            laneOfProcess[process] = lanes.count
            var lane = Lane(title: process.description, subtitle: Self.role(process.kind), cssClass: "lane-proc", rowHeights: [])
            if let messages = handling[process] {
                let shown = messages.filter { detailed(facts.messages[$0].user) }
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
                let ids = facts.transactions.indices.filter { facts.transactions[$0].database == process && detailed(facts.transactions[$0].user) }
                let packed = pack(ids.map { (facts.transactions[$0].begin, facts.transactions[$0].end ?? facts.end) }, limit: 12)
                transactionRows[process] = (ids, packed.rows, packed.count)
                lane.rowHeights += Array(repeating: 9, count: packed.count)
            }
            if lane.rowHeights.isEmpty { lane.rowHeights = [10] }
            lane.rowHeights.append(7)  // marks row: generic events and density
            lanes.append(lane)
        }

        let violationRows = min(6, input.violations.count)
        let violationBand = violationRows == 0 ? 0 : Double(violationRows) * 13 + 4
        var y = axisHeight + violationBand
        for index in lanes.indices {
            lanes[index].y = y
            y += lanes[index].height
        }
        let plotBottom = y
        let height = y + bottomAxisHeight

        // Every instant drawn, for the time scale.
        var times: [Int64] = events.map(\.time)
        for hold in facts.locks { times.append(hold.end) }
        for violation in input.violations { times.append(violation.time) }
        for event in events where event.op.rawValue == "fault" && event.a > 0 { times.append(event.time &+ event.a) }
        let scale = TimeScale(times: times, left: labelWidth, width: plotWidth)
        func x(_ time: Int64) -> Double { scale.x(time) }

        var background: [HTML] = []
        var marks: [HTML] = []
        var lines: [HTML] = []
        var position: [Int: (Double, Double)] = [:]
        var density: [Int: [Int]] = [:]  // lane → bucket counts of steps not drawn in detail
        let bucketWidth = 4.0
        let bucketCount = Int(plotWidth / bucketWidth) + 1
        func count(lane: Int, time: Int64) {
            let bucket = min(bucketCount - 1, max(0, Int((x(time) - labelWidth) / bucketWidth)))
            density[lane, default: Array(repeating: 0, count: bucketCount)][bucket] += 1
        }
        func classes(_ base: String, user: Int) -> String {
            base.hasPrefix("req ") && input.highlighted.contains(user) ? base + " hl" : base
        }
        func userAttribute(_ user: Int) -> String? { user > 0 ? String(user) : nil }

        // Lane backgrounds and labels.
        for (index, lane) in lanes.enumerated() {
            background.append(element("rect", [("x", "0"), ("y", Format.coordinate(lane.y)), ("width", Format.coordinate(labelWidth + plotWidth)),
                                               ("height", Format.coordinate(lane.height)), ("class", index % 2 == 0 ? "band" : "band alt")]))
            var labelAttributes = [("x", "8"), ("y", Format.coordinate(lane.y + min(lane.height / 2, 12) + 4)), ("class", "lane-label " + lane.cssClass)]
            if let user = lane.user {
                labelAttributes.append(("data-u", String(user)))
                if input.highlighted.contains(user) { labelAttributes[2].1 += " hl" }
            }
            var labelChildren: [HTML] = [.text(lane.title)]
            if !lane.subtitle.isEmpty {
                labelChildren.append(element("tspan", [("class", "lane-sub"), ("dx", "6")], [.text(lane.subtitle)]))
            }
            background.append(element("text", labelAttributes, labelChildren))
            for (row, label) in lane.rowLabels.enumerated() where !label.isEmpty {
                background.append(element("text", [("x", Format.coordinate(labelWidth - 8)), ("y", Format.coordinate(lane.rowMiddle(row) + 3.5)),
                                                   ("class", "row-label"), ("text-anchor", "end")], [.text(label)]))
            }
        }

        // Compressed idle stretches.
        for piece in scale.pieces where piece.isBreak {
            background.append(element("rect", [("x", Format.coordinate(piece.x0 + 3)), ("y", Format.coordinate(axisHeight)),
                                               ("width", Format.coordinate(piece.x1 - piece.x0 - 6)), ("height", Format.coordinate(plotBottom - axisHeight)),
                                               ("class", "gap")],
                                  [el("title", text: "idle for \(Format.short(piece.t1 - piece.t0)) (\(Format.virtualTime(piece.t0)) to \(Format.virtualTime(piece.t1))), drawn compressed")]))
            for axisY in [plotBottom + 30] {
                background.append(element("text", [("x", Format.coordinate((piece.x0 + piece.x1) / 2)), ("y", Format.coordinate(axisY)),
                                                   ("class", "gap-label"), ("text-anchor", "middle")], [.text("+" + Format.short(piece.t1 - piece.t0))]))
            }
        }
        // Time axis, top and bottom.
        for tick in scale.ticks() {
            let tx = x(tick.time)
            background.append(element("line", [("x1", Format.coordinate(tx)), ("y1", Format.coordinate(axisHeight - 4)),
                                               ("x2", Format.coordinate(tx)), ("y2", Format.coordinate(plotBottom + 4)), ("class", "tgrid")]))
            for axisY in [axisHeight - 10, plotBottom + 15] {
                background.append(element("text", [("x", Format.coordinate(tx)), ("y", Format.coordinate(axisY)), ("class", "tick"),
                                                   ("text-anchor", "middle")], [.text(tick.label + " s")]))
            }
        }

        func bar(_ t0: Int64, _ t1: Int64, top: Double, height barHeight: Double, cssClass: String, user: Int, title: String) -> HTML {
            let x0 = x(t0)
            let x1 = max(x(t1), x0 + 1.5)
            var attributes = [("x", Format.coordinate(x0)), ("y", Format.coordinate(top)), ("width", Format.coordinate(x1 - x0)),
                              ("height", Format.coordinate(barHeight)), ("class", classes(cssClass, user: user))]
            if let attribute = userAttribute(user) { attributes.append(("data-u", attribute)) }
            return element("rect", attributes, [el("title", text: title)])
        }
        func tick(_ time: Int64, top: Double, height tickHeight: Double, cssClass: String, user: Int, title: String, index: Int?) -> HTML {
            let tx = x(time)
            if let index { position[index] = (tx, top + tickHeight / 2) }
            var attributes = [("x", Format.coordinate(tx - 1.5)), ("y", Format.coordinate(top)), ("width", "3"),
                              ("height", Format.coordinate(tickHeight)), ("class", classes(cssClass, user: user))]
            if let attribute = userAttribute(user) { attributes.append(("data-u", attribute)) }
            return element("rect", attributes, [el("title", text: title)])
        }
        func describe(_ index: Int) -> String { events[index].description.trimmingTrailingSpaces }

        // Users' requests.
        for (user, laneIndex) in laneOfUser.sorted(by: { $0.key < $1.key }) {
            let outcome = outcomes[user - 1]
            let lane = lanes[laneIndex]
            guard let sent = outcome.sentAt else { continue }
            let end = outcome.completedAt ?? facts.end
            var title = "\(outcome.user.rawValue): \(Format.stay(outcome.stay)); sent at \(Format.virtualTime(sent))"
            if outcome.finished {
                title += outcome.status.map { ", got \($0)" } ?? ", no answer (timed out)"
                title += " at \(Format.virtualTime(end)) after \(Format.seconds(end - sent))"
            } else {
                title += ", still waiting when the run ended"
            }
            if let error = outcome.error { title += "\n" + error }
            marks.append(bar(sent, end, top: lane.rowTop(0) + 1.5, height: 9, cssClass: "req " + statusClass(outcome.finished ? outcome.status : nil),
                             user: user, title: title))
            let labelX = x(end) + 4
            if labelX < labelWidth + plotWidth + 16 {
                marks.append(element("text", [("x", Format.coordinate(labelX)), ("y", Format.coordinate(lane.rowTop(0) + 10)),
                                              ("class", "req-label"), ("data-u", String(user))],
                                     [.text(outcome.finished ? Format.status(outcome.status) : "…")]))
            }
        }
        for (index, event) in events.enumerated() where event.process.id.kind == .client {
            guard event.op == .arrive || event.op == .complete, let laneIndex = laneOfUser[event.process.id.index] else { continue }
            position[index] = (x(event.time), lanes[laneIndex].rowMiddle(0))
        }
        if let aggregateLane {
            marks.append(inFlightArea(outcomes: outcomes, exclude: Set(laneOfUser.keys), lane: lanes[aggregateLane], scale: scale))
        }

        // Services: the requests each one handled.
        for (process, indexes) in handling.sorted(by: { $0.key < $1.key }) {
            guard let laneIndex = laneOfProcess[process], let packing = handlingRows[process] else { continue }
            let lane = lanes[laneIndex]
            for (slot, messageIndex) in indexes.enumerated() {
                let message = facts.messages[messageIndex]
                guard let deliver = message.deliver else { continue }
                let row = packing.rows[slot]
                let status = message.respond.map { Int($0.status) }
                var title = "\(process) handles \(message.endpoint) from \(message.from) (message \(message.id))"
                if message.user > 0 { title += " for user_\(message.user)" }
                title += "\nreceived \(Format.virtualTime(deliver.time))"
                if let respond = message.respond { title += ", answered \(respond.status) at \(Format.virtualTime(respond.time)) (\(Format.short(respond.time - deliver.time)))" }
                else { title += ", never answered" }
                marks.append(bar(deliver.time, message.respond?.time ?? facts.end, top: lane.rowTop(row) + 0.5, height: 4,
                                 cssClass: "work " + statusClass(status), user: message.user, title: title))
                position[deliver.index] = (x(deliver.time), lane.rowMiddle(row))
                if let respond = message.respond { position[respond.index] = (x(respond.time), lane.rowMiddle(row)) }
            }
        }

        // Messages: lines from sender to receiver, shown on demand.
        func laneMiddle(_ process: ProcessContext) -> Double? {
            if process.id.kind == .client { return laneOfUser[process.id.index].map { lanes[$0].rowMiddle(0) } }
            return laneOfProcess[process.id].map { lanes[$0].y + 8 }
        }
        func laneMiddle(_ process: ProcessID) -> Double? { laneMiddle(ProcessContext(id: process, incarnation: 0)) }
        for message in facts.messages where detailed(message.user) {
            guard let fromY = laneMiddle(message.from), let toY = laneMiddle(message.to) else { continue }
            if let deliver = message.deliver {
                lines.append(messageLine(x(message.sentAt), fromY, x(deliver.time), toY, user: message.user, cssClass: "msg",
                                         title: "message \(message.id): \(message.from) → \(message.to) \(message.endpoint), sent \(Format.virtualTime(message.sentAt)), delivered \(Format.virtualTime(deliver.time))"))
            } else {
                lines.append(messageLine(x(message.sentAt), fromY, x(message.sentAt) + 8, toY, user: message.user, cssClass: "msg lost",
                                         title: "message \(message.id): \(message.from) → \(message.to) \(message.endpoint), sent \(Format.virtualTime(message.sentAt)), never delivered"))
            }
            if let respond = message.respond, let receive = message.receive {
                lines.append(messageLine(x(respond.time), toY, x(receive.time), fromY, user: message.user, cssClass: "msg reply",
                                         title: "reply to message \(message.id): \(respond.status) from \(message.to), received \(Format.virtualTime(receive.time))"))
            }
            if let timeout = message.timeout, let laneIndex = message.from.id.kind == .client ? laneOfUser[message.from.id.index] : laneOfProcess[message.from.id] {
                marks.append(tick(timeout.time, top: lanes[laneIndex].y + 2, height: 10, cssClass: "mark timeout", user: message.user,
                                  title: describe(timeout.index), index: timeout.index))
            }
        }

        // Redis: lock holds and attempts, one pair of rows per key.
        if let laneIndex = laneOfProcess[ProcessID(kind: .redis, index: 0)] {
            let lane = lanes[laneIndex]
            var keyRow: [String: Int] = [:]
            for (slot, key) in redisKeys.enumerated() { keyRow[key] = 1 + slot * 2 }
            for hold in facts.locks {
                guard let row = keyRow[hold.key] else { continue }
                var title = "\(hold.key) held for user_\(hold.user) by \(hold.process) (token \(hold.token.prefix(8)))\nacquired \(Format.virtualTime(hold.acquiredAt)), TTL \(Format.short(hold.ttl))"
                if hold.releasedInTime {
                    title += "; released \(Format.virtualTime(hold.release!.time)) after \(Format.short(hold.release!.time - hold.acquiredAt))"
                } else {
                    title += "; EXPIRED at \(Format.virtualTime(hold.expiresAt))"
                    if let release = hold.release { title += "; its holder's release at \(Format.virtualTime(release.time)) found \(release.deleted ? "it" : "nothing to delete")" }
                }
                marks.append(bar(hold.acquiredAt, hold.end, top: lane.rowTop(row) + 1, height: 9, cssClass: hold.expired ? "lock expired" : "lock",
                                 user: hold.user, title: title))
                position[hold.acquireIndex] = (x(hold.acquiredAt), lane.rowMiddle(row))
                if let release = hold.release {
                    marks.append(tick(release.time, top: lane.rowTop(row), height: 11, cssClass: release.deleted ? "mark release" : "mark release-failed",
                                      user: hold.user, title: describe(release.index), index: release.index))
                }
                if hold.expired {
                    let ex = x(hold.expiresAt)
                    let ey = lane.rowMiddle(row)
                    var attributes = [("d", "M\(Format.coordinate(ex - 4)) \(Format.coordinate(ey - 4))l8 8m0 -8l-8 8"), ("class", classes("expiry", user: hold.user))]
                    attributes.append(("data-u", String(hold.user)))
                    marks.append(element("path", attributes, [el("title", text: "\(hold.key): user_\(hold.user)'s lock expired at \(Format.virtualTime(hold.expiresAt)) (TTL \(Format.short(hold.ttl)) after \(Format.virtualTime(hold.acquiredAt)))" + (hold.expiryIndex.map { "; Redis noticed at \(Format.virtualTime(events[$0].time))" } ?? ""))]))
                    if let expiry = hold.expiryIndex { position[expiry] = (ex, ey) }
                }
            }
            for attempt in facts.attempts where !attempt.acquired {
                guard let row = keyRow[attempt.key] else { continue }
                if detailed(attempt.user) {
                    marks.append(tick(attempt.time, top: lane.rowTop(row + 1) + 0.5, height: 5, cssClass: "mark attempt", user: attempt.user,
                                      title: describe(attempt.index), index: attempt.index))
                } else {
                    count(lane: laneIndex, time: attempt.time)
                }
            }
        }

        // Databases: transactions with their statements.
        for (process, packing) in transactionRows.sorted(by: { $0.key < $1.key }) {
            guard let laneIndex = laneOfProcess[process] else { continue }
            let lane = lanes[laneIndex]
            for (slot, id) in packing.ids.enumerated() {
                let transaction = facts.transactions[id]
                let row = packing.rows[slot]
                let outcome: String
                let cssClass: String
                switch transaction.outcome {
                case .committed: outcome = "committed"; cssClass = "tx"
                case .commitFailed: outcome = "COMMIT failed"; cssClass = "tx failed"
                case .rolledBack: outcome = "rolled back"; cssClass = "tx rolledback"
                case .lostConnection: outcome = "rolled back (connection lost)"; cssClass = "tx failed"
                case .open: outcome = "still open when the run ended"; cssClass = "tx open"
                }
                var title = "\(process) tx\(transaction.number) by \(transaction.process)"
                if transaction.user > 0 { title += " for user_\(transaction.user)" }
                title += ": BEGIN \(Format.virtualTime(transaction.begin)), \(outcome)"
                if let end = transaction.end { title += " at \(Format.virtualTime(end))" }
                for statement in transaction.statements { title += "\n  " + events[statement].summary }
                marks.append(bar(transaction.begin, transaction.end ?? facts.end, top: lane.rowTop(row) + 1, height: 7, cssClass: cssClass,
                                 user: transaction.user, title: title))
                position[transaction.beginIndex] = (x(transaction.begin), lane.rowMiddle(row))
                for statement in transaction.statements {
                    let event = events[statement]
                    let statementClass: String
                    switch event.op {
                    case .sqlBlocked: statementClass = "stmt blocked"
                    case .sqlError: statementClass = "stmt error"
                    case .sqlCommit, .sqlRollback: statementClass = "stmt end"
                    default: statementClass = "stmt"
                    }
                    marks.append(tick(event.time, top: lane.rowTop(row), height: 9, cssClass: statementClass, user: transaction.user,
                                      title: describe(statement), index: statement))
                }
            }
            for transaction in facts.transactions where transaction.database == process && !detailed(transaction.user) {
                count(lane: laneIndex, time: transaction.begin)
            }
        }

        // Everything else: generic marks on the acting process's lane (and on the lane of the
        // process it names, if any), so that faults and new kinds of events always show.
        for (index, event) in events.enumerated() where !Self.drawnOps.contains(event.op) {
            var targets: [Int] = []
            if event.process.id.kind == .client {
                if let lane = laneOfUser[event.process.id.index] { targets.append(lane) } else if let aggregateLane { targets.append(aggregateLane) }
            } else if let lane = laneOfProcess[event.process.id] {
                targets.append(lane)
            }
            if case .process(let id) = event.subject {
                if id.kind == .client, let lane = laneOfUser[id.index] { targets.append(lane) }
                else if let lane = laneOfProcess[id], !targets.contains(lane) { targets.append(lane) }
            }
            let generic = !Self.quietOps.contains(event.op)
            for laneIndex in targets {
                let lane = lanes[laneIndex]
                if generic && event.op.rawValue == "fault" && event.a > 0 {
                    // A fault with a duration (pause, partition, downtime, …): drawn as a span.
                    marks.append(bar(event.time, event.time &+ event.a, top: lane.y + 2, height: lane.height - 4, cssClass: "fault-span",
                                     user: event.origin, title: describe(index)))
                }
                if generic {
                    marks.append(tick(event.time, top: lane.y + 2, height: lane.height - 4, cssClass: "mark other", user: event.origin,
                                      title: describe(index), index: index))
                } else if detailed(event.origin) {
                    let row = lane.rowHeights.count - 1
                    marks.append(tick(event.time, top: lane.rowTop(row) + 1, height: 5, cssClass: "mark " + event.op.rawValue.replacingDots,
                                      user: event.origin, title: describe(index), index: index))
                } else {
                    count(lane: laneIndex, time: event.time)
                }
            }
        }
        // Autocommit statements (outside any transaction): a tick on the database they ran against
        // is unknown, so on the caller's marks row.
        for (index, event) in events.enumerated() where Self.statementOps.contains(event.op) && facts.transactionOfEvent[index] == nil {
            guard let laneIndex = laneOfProcess[event.process.id] else { continue }
            let lane = lanes[laneIndex]
            if detailed(event.origin) {
                marks.append(tick(event.time, top: lane.rowTop(lane.rowHeights.count - 1) + 1, height: 5, cssClass: "mark read", user: event.origin,
                                  title: describe(index), index: index))
            } else {
                count(lane: laneIndex, time: event.time)
            }
        }
        // Handling of users drawn only in aggregate.
        for process in handling.keys.sorted() {
            guard let laneIndex = laneOfProcess[process] else { continue }
            for message in facts.messages where message.to == process && !detailed(message.user) {
                if let deliver = message.deliver { count(lane: laneIndex, time: deliver.time) }
            }
        }
        for (laneIndex, buckets) in density.sorted(by: { $0.key < $1.key }) {
            let lane = lanes[laneIndex]
            let peak = max(1, buckets.max() ?? 1)
            let row = lane.rowHeights.count - 1
            for (bucket, value) in buckets.enumerated() where value > 0 {
                let bx = labelWidth + Double(bucket) * bucketWidth
                let opacity = 0.15 + 0.85 * Double(value) / Double(peak)
                marks.append(element("rect", [("x", Format.coordinate(bx)), ("y", Format.coordinate(lane.rowTop(row) + 1)), ("width", Format.coordinate(bucketWidth)),
                                              ("height", "5"), ("class", "density"), ("fill-opacity", Format.decimal(Int64(opacity * 100), unit: 100, digits: 2))],
                                     [el("title", text: "\(Format.plural(value, "step")) for users not drawn in detail, \(Format.virtualTime(scale.time(at: bx)))–\(Format.virtualTime(scale.time(at: bx + bucketWidth)))")]))
            }
        }

        // Violations: a line at the instant each was detected.
        var overlay: [HTML] = []
        for (row, violation) in input.violations.enumerated().prefix(6) {
            let vx = x(violation.time)
            overlay.append(element("line", [("x1", Format.coordinate(vx)), ("y1", Format.coordinate(axisHeight)), ("x2", Format.coordinate(vx)),
                                            ("y2", Format.coordinate(plotBottom)), ("class", "violation")],
                                   [el("title", text: violation.description)]))
            let room = vx - labelWidth > 220
            overlay.append(element("text", [("x", Format.coordinate(room ? vx - 4 : vx + 4)), ("y", Format.coordinate(axisHeight + 11 + Double(row) * 13)),
                                            ("class", "violation-label"), ("text-anchor", room ? "end" : "start")],
                                   [.text("✗ " + violation.invariant.rawValue + " at " + Format.virtualTime(violation.time)),
                                    el("title", text: violation.description)]))
        }
        // Numbered steps of the explanation.
        for (index, number) in input.steps.sorted(by: { $0.value < $1.value }) {
            let point = position[index] ?? fallbackPosition(events[index], lanes: lanes, laneOfUser: laneOfUser, laneOfProcess: laneOfProcess, x: x)
            guard let point else { continue }
            overlay.append(element("g", [("class", "step"), ("data-u", String(events[index].origin))], [
                element("circle", [("cx", Format.coordinate(point.0)), ("cy", Format.coordinate(point.1 - 9)), ("r", "7")]),
                element("text", [("x", Format.coordinate(point.0)), ("y", Format.coordinate(point.1 - 5.5)), ("text-anchor", "middle")], [.text(String(number))]),
                el("title", text: "step \(number): " + describe(index)),
            ]))
        }

        let svgWidth = labelWidth + plotWidth + 44
        return element("svg", [("id", "timeline"), ("class", "timeline"), ("width", Format.coordinate(svgWidth)), ("height", Format.coordinate(height)),
                               ("viewBox", "0 0 \(Format.coordinate(svgWidth)) \(Format.coordinate(height))"), ("role", "img"),
                               ("aria-label", "timeline of the run: one lane per process")],
                       [element("defs", [], [element("pattern", [("id", "gap-hatch"), ("width", "6"), ("height", "6"), ("patternUnits", "userSpaceOnUse"),
                                                                   ("patternTransform", "rotate(45)")],
                                                        [element("rect", [("width", "6"), ("height", "6"), ("fill", "#f6f8fa")]),
                                                         element("line", [("x1", "0"), ("y1", "0"), ("x2", "0"), ("y2", "6"), ("stroke", "#d0d7de"), ("stroke-width", "2")])])]),
                        element("g", [("class", "bg")], background), element("g", [("class", "lines")], lines),
                        element("g", [("class", "marks")], marks), element("g", [("class", "overlay")], overlay)])
    }

    /// Operations drawn by a dedicated rule above; anything else gets a generic mark.
    static let drawnOps: Set<TraceOp> = [
        .arrive, .complete, .send, .deliver, .respond, .receive, .timeout, .lockAcquire, .lockRelease, .lockExpired,
        .sqlBegin, .sqlCommit, .sqlRollback, .sqlSelect, .sqlUpdate, .sqlInsert, .sqlBlocked, .sqlError,
    ]
    /// Known, frequent operations that get a small mark in the lane's marks row rather than a
    /// full-height generic one.
    static let quietOps: Set<TraceOp> = [.sleep, .lockGet]
    static let statementOps: Set<TraceOp> = [.sqlSelect, .sqlUpdate, .sqlInsert, .sqlBlocked, .sqlError]

    static func role(_ kind: ProcessKind) -> String {
        switch kind {
        case .booking: return "booking service"
        case .inventory: return "inventory service"
        case .redis: return "lock"
        case .postgres: return "PostgreSQL"
        case .client: return "user"
        case .harness: return "simulator"
        }
    }

    static func messageLine(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, user: Int, cssClass: String, title: String) -> HTML {
        var attributes = [("x1", Format.coordinate(x1)), ("y1", Format.coordinate(y1)), ("x2", Format.coordinate(x2)), ("y2", Format.coordinate(y2)),
                          ("class", cssClass)]
        if user > 0 { attributes.append(("data-u", String(user))) }
        return element("line", attributes, [el("title", text: title)])
    }

    static func fallbackPosition(_ event: TraceEvent, lanes: [Lane], laneOfUser: [Int: Int], laneOfProcess: [ProcessID: Int], x: (Int64) -> Double) -> (Double, Double)? {
        let laneIndex = event.process.id.kind == .client ? laneOfUser[event.process.id.index] : laneOfProcess[event.process.id]
        guard let laneIndex else { return nil }
        return (x(event.time), lanes[laneIndex].y + 8)
    }

    /// Requests in flight over time, for users without a lane of their own.
    static func inFlightArea(outcomes: [ClientOutcome], exclude: Set<Int>, lane: Lane, scale: TimeScale) -> HTML {
        var changes: [(Int64, Int)] = []
        for (index, outcome) in outcomes.enumerated() where !exclude.contains(index + 1) {
            guard let sent = outcome.sentAt else { continue }
            changes.append((sent, 1))
            if let done = outcome.completedAt { changes.append((done, -1)) }
        }
        changes.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) }
        // The highest level within each pixel column, so that 5,000 users draw as ~1,000 points.
        var level = 0
        var peak = 0
        var columns: [(x: Double, level: Int)] = []
        for (time, delta) in changes {
            level += delta
            peak = max(peak, level)
            let column = scale.x(time).rounded()
            if let last = columns.last, last.x == column {
                columns[columns.count - 1].level = max(last.level, level)
                if delta < 0 { columns[columns.count - 1].level = max(columns[columns.count - 1].level, level) }
            } else {
                columns.append((column, level))
            }
        }
        let base = lane.rowTop(0) + lane.rowHeights[0]
        let scaleY = (lane.rowHeights[0] - 4) / Double(max(1, peak))
        var points = "\(Format.coordinate(columns.first?.x ?? 0)),\(Format.coordinate(base))"
        var previous = 0
        for column in columns {
            let px = Format.coordinate(column.x)
            points += " \(px),\(Format.coordinate(base - Double(previous) * scaleY)) \(px),\(Format.coordinate(base - Double(column.level) * scaleY))"
            previous = column.level
        }
        points += " \(Format.coordinate(columns.last?.x ?? 0)),\(Format.coordinate(base))"
        return element("polygon", [("points", points), ("class", "inflight")],
                       [el("title", text: "requests in flight for the other \(Format.count(outcomes.count - exclude.count)) users; peak \(Format.count(peak))")])
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }

    var replacingDots: String { String(map { $0 == "." ? "-" : $0 }) }
}
