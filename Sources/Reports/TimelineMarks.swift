import BookingCore
import RunObservation
import Checking
import Simulation

extension Timeline.Drawing {
    /// Users' requests, and the in-flight area of the users without a lane.
    func drawRequests() {
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
            marks.append(bar(sent, end, top: lane.rowTop(0) + 1.5, height: 9, cssClass: "req " + Timeline.statusClass(outcome.finished ? outcome.status : nil),
                             user: user, title: title))
            let labelX = x(end) + 4
            if labelX < Timeline.labelWidth + Timeline.plotWidth + 16 {
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
            marks.append(Timeline.inFlightArea(outcomes: outcomes, exclude: Set(laneOfUser.keys), lane: lanes[aggregateLane], scale: scale))
        }
    }

    /// Services: the requests each one handled.
    func drawHandling() {
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
                                 cssClass: "work " + Timeline.statusClass(status), user: message.user, title: title))
                position[deliver.index] = (x(deliver.time), lane.rowMiddle(row))
                if let respond = message.respond { position[respond.index] = (x(respond.time), lane.rowMiddle(row)) }
            }
        }
    }

    func laneMiddle(_ process: ProcessContext) -> Double? {
        if process.id.kind == .client { return laneOfUser[process.id.index].map { lanes[$0].rowMiddle(0) } }
        return laneOfProcess[process.id].map { lanes[$0].y + 8 }
    }
    func laneMiddle(_ process: ProcessID) -> Double? { laneMiddle(ProcessContext(id: process, incarnation: 0)) }

    /// Messages: lines from sender to receiver, shown on demand.
    func drawMessages() {
        for message in facts.messages where detailed(message.user) {
            guard let fromY = laneMiddle(message.from), let toY = laneMiddle(message.to) else { continue }
            if let deliver = message.deliver {
                lines.append(Timeline.messageLine(x(message.sentAt), fromY, x(deliver.time), toY, user: message.user, cssClass: "msg",
                                         title: "message \(message.id): \(message.from) → \(message.to) \(message.endpoint), sent \(Format.virtualTime(message.sentAt)), delivered \(Format.virtualTime(deliver.time))"))
            } else {
                lines.append(Timeline.messageLine(x(message.sentAt), fromY, x(message.sentAt) + 8, toY, user: message.user, cssClass: "msg lost",
                                         title: "message \(message.id): \(message.from) → \(message.to) \(message.endpoint), sent \(Format.virtualTime(message.sentAt)), never delivered"))
            }
            if let respond = message.respond, let receive = message.receive {
                lines.append(Timeline.messageLine(x(respond.time), toY, x(receive.time), fromY, user: message.user, cssClass: "msg reply",
                                         title: "reply to message \(message.id): \(respond.status) from \(message.to), received \(Format.virtualTime(receive.time))"))
            }
            if let timeout = message.timeout, let laneIndex = message.from.id.kind == .client ? laneOfUser[message.from.id.index] : laneOfProcess[message.from.id] {
                marks.append(tick(timeout.time, top: lanes[laneIndex].y + 2, height: 10, cssClass: "mark timeout", user: message.user,
                                  title: describe(timeout.index), index: timeout.index))
            }
        }
    }

    /// Redis: lock holds and attempts, one pair of rows per key.
    func drawLocks() {
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
    }

    /// Databases: transactions with their statements.
    func drawTransactions() {
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
    }

    /// Everything else: generic marks on the acting process's lane (and on the lane of the
    /// process it names, if any), so that faults and new kinds of events always show.
    func drawOtherEvents() {
        for (index, event) in events.enumerated() where !Timeline.drawnOps.contains(event.op) {
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
            let generic = !Timeline.quietOps.contains(event.op)
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
    }

    /// Autocommit statements (outside any transaction): a tick on the database they ran against
    /// is unknown, so on the caller's marks row.
    func drawAutocommitStatements() {
        for (index, event) in events.enumerated() where Timeline.statementOps.contains(event.op) && facts.transactionOfEvent[index] == nil {
            guard let laneIndex = laneOfProcess[event.process.id] else { continue }
            let lane = lanes[laneIndex]
            if detailed(event.origin) {
                marks.append(tick(event.time, top: lane.rowTop(lane.rowHeights.count - 1) + 1, height: 5, cssClass: "mark read", user: event.origin,
                                  title: describe(index), index: index))
            } else {
                count(lane: laneIndex, time: event.time)
            }
        }
    }

    /// Density strips: the steps of users drawn only in aggregate, their handling included.
    func drawDensity() {
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
                let bx = Timeline.labelWidth + Double(bucket) * bucketWidth
                let opacity = 0.15 + 0.85 * Double(value) / Double(peak)
                marks.append(element("rect", [("x", Format.coordinate(bx)), ("y", Format.coordinate(lane.rowTop(row) + 1)), ("width", Format.coordinate(bucketWidth)),
                                              ("height", "5"), ("class", "density"), ("fill-opacity", Format.decimal(Int64(opacity * 100), unit: 100, digits: 2))],
                                     [el("title", text: "\(Format.plural(value, "step")) for users not drawn in detail, \(Format.virtualTime(scale.time(at: bx)))–\(Format.virtualTime(scale.time(at: bx + bucketWidth)))")]))
            }
        }
    }
}

extension Timeline {
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
