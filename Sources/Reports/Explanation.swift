import BookingCore
import RunObservation
import Checking
import Simulation

/// A violation explained from the trace: which users it involves, what each of them did, and why
/// the algorithm let it happen. Nothing here is written for a particular scenario: every sentence
/// is built from events of the run (lock holds, reads, transactions, answers).
struct Explanation {
    struct Step {
        var number: Int
        var index: Int
        var time: Int64
        var user: Int
        var text: String
        /// The event as the trace prints it: process and summary.
        var trace: String
    }

    var title: String
    var violations: [Violation]
    /// One sentence per involved user: their request from start to answer.
    var stories: [String]
    /// Why the algorithm let it happen, as far as the trace shows.
    var causes: [String]
    var steps: [Step]
    var users: [Int]
}

enum Explainer {
    static func explain(_ verdict: RunVerdict, facts: TraceFacts?) -> [Explanation] {
        guard !verdict.violations.isEmpty else { return [] }
        let context = Context(verdict: verdict, facts: facts)
        var explanations: [Explanation] = []
        var handled = Set<Int>()
        // Violations about the same room-night are one incident.
        let byNight = Dictionary(grouping: verdict.violations.indices.filter { context.roomNight(in: verdict.violations[$0]) != nil }) {
            context.roomNight(in: verdict.violations[$0])!
        }
        for night in byNight.keys.sorted() {
            let indexes = byNight[night]!
            handled.formUnion(indexes)
            explanations.append(context.explainRoomNight(night, violations: indexes.map { verdict.violations[$0] }))
        }
        let rest = verdict.violations.indices.filter { !handled.contains($0) }
        // The two latency SLOs have one story.
        func group(_ invariant: Invariant) -> Invariant { invariant == .latencyMean ? .latencyP95 : invariant }
        for invariant in Set(rest.map { group(verdict.violations[$0].invariant) }).sorted() {
            let violations = rest.map { verdict.violations[$0] }.filter { group($0.invariant) == invariant }
            explanations.append(context.explainOther(invariant, violations: violations))
        }
        // Faults that fired, and whose requests they caught, belong to every explanation.
        for index in explanations.indices {
            let (causes, steps) = context.faultCauses(explanations[index].users)
            explanations[index].causes.insert(contentsOf: causes, at: 0)
            explanations[index].steps += steps.filter { step in !explanations[index].steps.contains { $0.index == step.index } }
        }
        // Number the steps across all explanations, each event once.
        var number = 0
        var numbered: [Int: Int] = [:]
        for index in explanations.indices {
            explanations[index].steps.sort { ($0.time, $0.index) < ($1.time, $1.index) }
            for step in explanations[index].steps.indices {
                let event = explanations[index].steps[step].index
                if numbered[event] == nil { number += 1; numbered[event] = number }
                explanations[index].steps[step].number = numbered[event]!
            }
        }
        return explanations
    }

    struct Context {
        let verdict: RunVerdict
        let facts: TraceFacts?
        let userIndex: [String: Int]
        /// Each client's request id (the simulator names the N-th client's `req-N`).
        let requestIndex: [RequestID: Int]
        let capacities: [RoomID: Int]

        init(verdict: RunVerdict, facts: TraceFacts?) {
            self.verdict = verdict
            self.facts = facts
            var userIndex: [String: Int] = [:]
            for (index, outcome) in verdict.observation.outcomes.enumerated() { userIndex[outcome.user.rawValue] = index + 1 }
            self.userIndex = userIndex
            var requestIndex: [RequestID: Int] = [:]
            for (index, outcome) in verdict.observation.outcomes.enumerated() {
                requestIndex[outcome.requestID ?? RequestID("req-\(index + 1)")] = index + 1
            }
            self.requestIndex = requestIndex
            var capacities: [RoomID: Int] = [:]
            for room in verdict.scenario.rooms { capacities[room.id] = room.capacity }
            self.capacities = capacities
        }

        var outcomes: [ClientOutcome] { verdict.observation.outcomes }
        func name(_ user: Int) -> String { user >= 1 && user <= outcomes.count ? outcomes[user - 1].user.rawValue : "user_\(user)" }
        func t(_ time: Int64) -> String { Format.short(time) }

        /// The room-night a violation is about, when it is about one.
        func roomNight(in violation: Violation) -> RoomNight? { violation.roomNight }

        /// The clients (1-based indexes) a violation involves: its users, then its requests'
        /// senders, each once.
        func users(in violation: Violation) -> [Int] {
            var found: [Int] = []
            for user in violation.users {
                if let index = userIndex[user.rawValue], !found.contains(index) { found.append(index) }
            }
            for request in violation.requests {
                if let index = requestIndex[request], !found.contains(index) { found.append(index) }
            }
            return found
        }

        func step(_ index: Int, _ text: String) -> Explanation.Step {
            let event = facts!.events[index]
            return Explanation.Step(number: 0, index: index, time: event.time, user: event.origin, text: text,
                                    trace: "\(event.process): \(event.summary)")
        }

        // MARK: room-night incidents (capacity, inventory consistency)

        func explainRoomNight(_ key: RoomNight, violations: [Violation]) -> Explanation {
            let capacity = capacities[key.room] ?? 0
            let state = verdict.observation.quiescent
            let holders = state.bookings.filter { $0.status == .confirmed && $0.room == key.room && ($0.stay?.nights.contains(key.night) ?? false) }
            let available = state.availability.first { $0.0 == key }?.1
            var involved: [Int] = holders.compactMap { userIndex[$0.userID.rawValue] }
            for violation in violations {
                for user in users(in: violation) where !involved.contains(user) { involved.append(user) }
            }
            // Whoever changed that night's inventory row, too.
            if let facts {
                for transaction in facts.transactions where transaction.outcome == .committed && transaction.user > 0 {
                    let touches = transaction.statements.contains { facts.events[$0].op == .sqlUpdate && facts.events[$0].subject.roomNight == key }
                    if touches && !involved.contains(transaction.user) { involved.append(transaction.user) }
                }
            }
            involved.sort { (finishTime($0), $0) < (finishTime($1), $1) }

            let sold = holders.count
            var title: String
            if sold > capacity {
                title = "Room \(key.room) was sold \(times(sold)) for the night of \(key.night) (capacity \(capacity))"
                if !holders.isEmpty {
                    title += ": " + Format.list(holders.map { "\($0.userID) (booking \($0.id))" }) + " all hold confirmed bookings"
                }
            } else {
                title = "The two databases disagree about room \(key.room) on \(key.night)"
                if let available { title += ": inventory_db shows \(capacity - available) taken, booking_db has \(sold) confirmed" }
            }

            var stories: [String] = []
            var steps: [Explanation.Step] = []
            var causes: [String] = []
            guard facts != nil else {
                stories = involved.map { "\(name($0)): \(outcomeText($0))." }
                causes.append("Replay this seed to see the steps: this run did not record its trace.")
                return Explanation(title: title, violations: violations, stories: stories, causes: causes, steps: [], users: involved)
            }
            for user in involved {
                let (story, userSteps) = self.story(of: user, night: key)
                stories.append(story)
                steps += userSteps
            }
            causes += lockCauses(involved, night: key)
            causes += readCauses(involved, night: key)
            causes += inventoryCauses(involved, night: key, available: available, capacity: capacity, sold: sold)
            var closing = "At the end booking_db holds \(Format.plural(sold, "confirmed booking")) for room \(key.room) on \(key.night) (capacity \(capacity))"
            if let available { closing += " and inventory_db shows available_quantity \(available)" }
            causes.append(closing + ".")
            return Explanation(title: title, violations: violations, stories: stories, causes: causes, steps: steps, users: involved)
        }

        func times(_ count: Int) -> String {
            switch count {
            case 2: return "twice"
            case 3: return "three times"
            default: return "\(count) times"
            }
        }

        func finishTime(_ user: Int) -> Int64 {
            guard user >= 1 && user <= outcomes.count else { return .max }
            return outcomes[user - 1].completedAt ?? .max
        }

        func outcomeText(_ user: Int) -> String {
            guard user >= 1 && user <= outcomes.count else { return "unknown user" }
            let outcome = outcomes[user - 1]
            guard outcome.finished else { return "no answer by the end of the run" }
            guard let status = outcome.status else { return "timed out after \(t((outcome.completedAt ?? 0) - (outcome.sentAt ?? 0)))" }
            return "got \(status) at \(t(outcome.completedAt ?? 0))"
        }

        /// One user's request, from the trace, in words; and the steps it names.
        func story(of user: Int, night key: RoomNight) -> (String, [Explanation.Step]) {
            let facts = self.facts!
            let outcome = outcomes[user - 1]
            var parts: [(time: Int64, text: String)] = []
            var steps: [Explanation.Step] = []
            if let arrive = facts.events(of: user, where: { $0.op == .arrive }).first {
                parts.append((arrive.event.time, "sent its confirm at \(t(arrive.event.time))"))
                steps.append(step(arrive.index, "\(name(user)) sends its confirm for \(Format.stay(outcome.stay))"))
            }
            if let handler = facts.messages.first(where: { $0.user == user && $0.from.id.kind == .client }), let deliver = handler.deliver {
                parts.append((deliver.time, "\(deliver.process) took it at \(t(deliver.time))"))
            }
            let attempts = facts.attempts.filter { $0.user == user }
            for hold in facts.locks(of: user) {
                let failedBefore = attempts.filter { !$0.acquired && $0.key == hold.key && $0.time < hold.acquiredAt }.count
                var text = "acquired \(hold.key)" + (hold.key.hasSuffix(":\(outcome.stay.checkIn)") ? " (its check-in night)" : "")
                text += " at \(t(hold.acquiredAt))"
                if failedBefore > 0 { text += " after \(Format.plural(failedBefore, "failed attempt"))" }
                parts.append((hold.acquiredAt, text))
                steps.append(step(hold.acquireIndex, "\(name(user)): \(hold.process) acquires \(hold.key) (TTL \(Format.short(hold.ttl)))"))
                if hold.expired {
                    parts.append((hold.expiresAt, "its lock expired at \(t(hold.expiresAt)) (TTL \(Format.short(hold.ttl)))"))
                    if let expiry = hold.expiryIndex {
                        steps.append(step(expiry, "\(name(user))'s lock on \(hold.key) has expired (TTL elapsed at \(Format.virtualTime(hold.expiresAt)))"))
                    }
                }
                if let release = hold.release {
                    parts.append((release.time, release.deleted ? "released \(hold.key) at \(t(release.time))"
                                                                : "tried to release \(hold.key) at \(t(release.time)) but it was no longer its lock"))
                    steps.append(step(release.index, "\(name(user)): \(hold.process) releases \(hold.key) → "
                                      + (release.deleted ? "released" : "NOT released: the key had expired or belonged to another")))
                }
            }
            if !attempts.isEmpty && facts.locks(of: user).isEmpty {
                parts.append((attempts.last!.time, "never got the lock (\(Format.plural(attempts.count, "attempt")))"))
            }
            // Availability checks of the night in question, outside transactions.
            for read in facts.events(of: user, where: { $0.op == .sqlSelect && $0.a == 0 && $0.subject.roomNight == key }) {
                parts.append((read.event.time, "saw \(key.night) \(read.event.b > 0 ? "available" : "sold out") (available_quantity \(read.event.b)) at \(t(read.event.time))"))
                steps.append(step(read.index, "\(name(user)): the inventory reads \(key.night): available_quantity \(read.event.b)"))
            }
            for transaction in facts.transactions(of: user) {
                let statements = transaction.statements.map { (index: $0, event: facts.events[$0]) }
                var verbs: [String] = []
                if let insert = statements.first(where: { $0.event.op == .sqlInsert }) {
                    verbs.append("inserted booking \(insert.event.b)")
                    steps.append(step(insert.index, "\(name(user)): booking_db tx\(transaction.number) inserts booking \(insert.event.b)"))
                }
                if let read = statements.first(where: { $0.event.op == .sqlSelect && $0.event.subject.roomNight == key }) {
                    verbs.append("read \(key.night) as available_quantity \(read.event.b)")
                    steps.append(step(read.index, "\(name(user)): \(transaction.database) tx\(transaction.number) reads \(key.night): available_quantity \(read.event.b)"))
                }
                if let blocked = statements.first(where: { $0.event.op == .sqlBlocked && $0.event.subject.roomNight == key }) {
                    verbs.append("waited for tx\(blocked.event.b)'s row lock on \(key.night)")
                    steps.append(step(blocked.index, "\(name(user)): \(transaction.database) tx\(transaction.number) waits for tx\(blocked.event.b)'s row lock on \(key.night)"))
                }
                if let update = statements.first(where: { $0.event.op == .sqlUpdate && $0.event.subject.roomNight == key }) {
                    verbs.append("updated \(key.night)")
                    steps.append(step(update.index, "\(name(user)): \(transaction.database) tx\(transaction.number) updates \(key.night) (\(Format.plural(Int(update.event.b), "row")))"))
                }
                switch transaction.outcome {
                case .committed:
                    verbs.append("committed at \(t(transaction.end ?? 0))")
                    if let end = transaction.endIndex { steps.append(step(end, "\(name(user)): \(transaction.database) tx\(transaction.number) commits")) }
                case .open: verbs.append("never finished")
                case .commitFailed: verbs.append("failed to commit at \(t(transaction.end ?? 0))")
                case .rolledBack: verbs.append("rolled back at \(t(transaction.end ?? 0))")
                case .lostConnection: verbs.append("was rolled back when its connection was lost at \(t(transaction.end ?? 0))")
                }
                parts.append((transaction.begin, "in \(transaction.database) tx\(transaction.number) " + Format.list(verbs)))
            }
            parts.append((outcome.completedAt ?? facts.end, outcomeText(user)))
            if let complete = facts.events(of: user, where: { $0.op == .complete }).last {
                steps.append(step(complete.index, "\(name(user)) gets \(Format.status(outcome.status))"))
            }
            let ordered = parts.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element.text)
            return ("\(name(user)) (\(Format.stay(outcome.stay))) " + Format.list(ordered) + ".", steps)
        }

        func lockCauses(_ users: [Int], night key: RoomNight) -> [String] {
            let facts = self.facts!
            let holds = users.flatMap { facts.locks(of: $0) }
            var causes: [String] = []
            let keys = Array(Set(holds.map(\.key))).sorted()
            let unlocked = users.filter { facts.locks(of: $0).isEmpty }
            if !unlocked.isEmpty && users.count > 1 {
                causes.append(Format.list(unlocked.map(name)) + " held no lock at all while booking.")
            }
            if keys.count > 1 {
                let who = keys.map { key in Format.list(holds.filter { $0.key == key }.map { name($0.user) }.uniqued()) + " locked " + key }
                var sentence = "Their locks did not exclude each other: " + Format.list(who) + ", different keys."
                let checkInLocks = users.allSatisfy { user in facts.locks(of: user).allSatisfy { $0.key.hasSuffix(":\(outcomes[user - 1].stay.checkIn)") } }
                if checkInLocks {
                    let nights = users.map { outcomes[$0 - 1].stay.checkIn.description }.uniqued()
                    sentence += " Each lock names only the check-in night of its stay (\(Format.list(nights))), but every one of these stays includes \(key.night)."
                }
                causes.append(sentence)
            }
            // Same key: did one holder's lock run out while it was still working?
            for key in keys {
                let sameKey = holds.filter { $0.key == key }.sorted { $0.acquiredAt < $1.acquiredAt }
                for (earlier, later) in zip(sameKey, sameKey.dropFirst()) where earlier.user != later.user {
                    let stillWorking = lastWork(of: earlier.user)
                    if earlier.expired && earlier.expiresAt <= later.acquiredAt && stillWorking > earlier.expiresAt {
                        causes.append("\(name(earlier.user))'s lock on \(key) expired at \(t(earlier.expiresAt)) (TTL \(Format.short(earlier.ttl)) after it was taken at \(t(earlier.acquiredAt))) while its request was still working (its last step at \(t(stillWorking))); \(name(later.user)) acquired the same key at \(t(later.acquiredAt)). Nothing fenced off the writes of the expired holder.")
                    } else if earlier.releasedInTime && earlier.end <= later.acquiredAt {
                        causes.append("The lock did serialise \(name(earlier.user)) and \(name(later.user)) on \(key): \(name(later.user)) acquired it at \(t(later.acquiredAt)), after \(name(earlier.user)) released it at \(t(earlier.end)).")
                    }
                }
            }
            return causes
        }

        /// The last step any process took for `user`.
        func lastWork(of user: Int) -> Int64 {
            facts!.events.last { $0.origin == user && $0.process.id.kind != .client }?.time ?? 0
        }

        func readCauses(_ users: [Int], night key: RoomNight) -> [String] {
            let facts = self.facts!
            // A user who re-sent its confirm can hold two of the bookings: name it once.
            var seen = Set<Int>()
            let users = users.filter { seen.insert($0).inserted }
            guard users.count > 1 else { return [] }
            var reads: [(user: Int, time: Int64, quantity: Int64)] = []
            for user in users {
                if let read = facts.events(of: user, where: { $0.op == .sqlSelect && $0.a == 0 && $0.subject.roomNight == key }).last {
                    reads.append((user, read.event.time, read.event.b))
                }
            }
            guard reads.count > 1, reads.allSatisfy({ $0.quantity > 0 }) else { return [] }
            let commits = Dictionary(uniqueKeysWithValues: users.map { ($0, inventoryCommit(of: $0, night: key)) })
            var sentence = "Each of them checked \(key.night) and found it available: " + Format.list(reads.map { "\(name($0.user)) read available_quantity \($0.quantity) at \(t($0.time))" }) + "."
            let stale = reads.filter { read in users.contains { other in other != read.user && (commits[other].flatMap { $0 }.map { $0 > read.time } ?? false) } }
            if stale.count == reads.count {
                sentence += " Every one of these reads came before the other's inventory decrement was committed ("
                    + Format.list(users.compactMap { user in commits[user].flatMap { $0 }.map { "\(name(user))'s at \(t($0))" } }) + ")."
            }
            return [sentence]
        }

        /// When `user`'s inventory transaction that changed `key` committed.
        func inventoryCommit(of user: Int, night key: RoomNight) -> Int64? {
            let facts = self.facts!
            return facts.transactions(of: user).first { transaction in
                transaction.outcome == .committed && transaction.statements.contains { facts.events[$0].op == .sqlUpdate && facts.events[$0].subject.roomNight == key }
            }?.end
        }

        func inventoryCauses(_ users: [Int], night key: RoomNight, available: Int?, capacity: Int, sold: Int) -> [String] {
            let facts = self.facts!
            var writers: [(user: Int, transaction: TraceFacts.Transaction, read: Int64?)] = []
            for user in users {
                for transaction in facts.transactions(of: user) where transaction.outcome == .committed {
                    let statements = transaction.statements.map { facts.events[$0] }
                    guard statements.contains(where: { $0.op == .sqlUpdate && $0.subject.roomNight == key }) else { continue }
                    let read = statements.first { $0.op == .sqlSelect && $0.subject.roomNight == key }?.b
                    writers.append((user, transaction, read))
                }
            }
            guard !writers.isEmpty else { return [] }
            var sentence = "In \(writers[0].transaction.database), " + Format.list(writers.map { writer in
                var text = "\(name(writer.user))'s tx\(writer.transaction.number)"
                if let read = writer.read { text += " read available_quantity \(read)" }
                return text + " and committed an update of \(key.night) at \(t(writer.transaction.end ?? 0))"
            }) + "."
            if let available {
                let taken = capacity - available
                if writers.count > taken {
                    let sameRead = Set(writers.compactMap(\.read)).count == 1 && writers.allSatisfy { $0.read != nil }
                    sentence += " \(Format.plural(writers.count, "decrement")) were committed, yet the row ended at available_quantity \(available) (\(taken) taken): "
                    sentence += sameRead ? "each transaction wrote back its own read minus one, so the later write overwrote the earlier (a lost update: read-modify-write under READ COMMITTED)."
                                         : "\(writers.count - taken) of them were lost."
                } else if taken < sold {
                    sentence += " The inventory counts \(taken) taken against \(sold) confirmed bookings."
                }
            }
            return [sentence]
        }

        /// Every fault that fired in the run, with the involved requests it caught: a request
        /// caught by a fault was being handled by (or was sent by) the process it hit while it
        /// lasted.
        func faultCauses(_ users: [Int]) -> ([String], [Explanation.Step]) {
            guard let facts else { return ([], []) }
            var causes: [String] = []
            var steps: [Explanation.Step] = []
            for (index, event) in facts.events.enumerated() where event.op.rawValue == "fault" {
                let start = event.time
                let end = event.time &+ max(event.a, 0)
                let process = event.process.id
                var caught: [Int] = []
                for user in users {
                    let busy = facts.messages.contains { message in
                        message.user == user && message.to == process && (message.deliver?.time ?? .max) <= end
                            && (message.respond?.time ?? facts.end) >= start
                    } || (process.kind == .client && process.index == user) || event.origin == user
                    if busy { caught.append(user) }
                }
                var sentence = "\(event.process): \(event.summary) at \(t(start))"
                if event.a > 0 { sentence += ", until \(t(end))" }
                sentence += caught.isEmpty ? "." : "; it caught the request of " + Format.list(caught.map(name)) + "."
                causes.append(sentence)
                steps.append(step(index, "\(event.process): \(event.summary)"))
                if causes.count >= 8 { causes.append("(further faults are on the timeline)"); break }
            }
            return (causes, steps)
        }

        // MARK: other invariants

        func explainOther(_ invariant: Invariant, violations: [Violation]) -> Explanation {
            var involved: [Int] = []
            for violation in violations {
                for user in users(in: violation) where !involved.contains(user) { involved.append(user) }
            }
            var causes: [String] = []
            var steps: [Explanation.Step] = []
            let title: String
            switch invariant {
            case .noLockLeftHeld:
                title = "A lock outlived the run"
                if let facts {
                    for live in verdict.observation.quiescent.liveLocks {
                        let key = live.key, value = live.value
                        guard let hold = facts.locks.first(where: { $0.key == key && $0.token == value }) else { continue }
                        if hold.user > 0 && !involved.contains(hold.user) { involved.append(hold.user) }
                        causes.append("\(key) was set by \(hold.process) for \(name(hold.user)) at \(t(hold.acquiredAt)) with a TTL of \(Format.short(hold.ttl)), and never released" + (hold.release.map { "; its release at \(t($0.time)) deleted nothing" } ?? "") + ".")
                        steps.append(step(hold.acquireIndex, "\(hold.process) acquires \(key) for \(name(hold.user))"))
                    }
                }
            case .everyRequestAnswered:
                title = "Requests were left without an answer"
                for (index, outcome) in outcomes.enumerated() where !outcome.finished && !involved.contains(index + 1) { involved.append(index + 1) }
            case .latencyP95, .latencyMean:
                title = Set(violations.map(\.invariant)).count > 1 ? "Latency over the SLO (p95 and mean)"
                    : violations.first?.invariant == .latencyMean ? "Mean latency over the SLO" : "p95 latency over the SLO"
                let slowest = outcomes.indices.filter { outcomes[$0].latency != nil && outcomes[$0].status != nil }
                    .sorted { (outcomes[$0].latency ?? 0) > (outcomes[$1].latency ?? 0) }.prefix(3)
                causes.append("The slowest answers: " + Format.list(slowest.map { "\(outcomes[$0].user) \(Format.seconds(outcomes[$0].latency ?? 0)) (\(Format.status(outcomes[$0].status)))" }) + ".")
                involved += slowest.map { $0 + 1 }.filter { !involved.contains($0) }
            case .noDuplicateBooking:
                title = "A user holds more than one booking"
            case .runCompleted:
                title = "The run did not complete"
            case .linearizable:
                title = "No order of the confirms explains what the clients were told"
                causes += violations.map(\.message)
                for user in involved where user <= outcomes.count && outcomes[user - 1].attempts > 1 {
                    let outcome = outcomes[user - 1]
                    causes.append("\(outcome.user)'s client timed out and sent the same request again (\(outcome.attempts) attempts); "
                                  + "the answer it kept, \(Format.status(outcome.status)), is the last attempt's, while an earlier attempt may have taken effect. "
                                  + "Only an idempotent request id makes a retry safe.")
                }
            default:
                title = invariant.title
            }
            var stories: [String] = []
            if let facts {
                for user in involved where user >= 1 && user <= outcomes.count {
                    var parts: [String] = []
                    for hold in facts.locks(of: user) {
                        parts.append("acquired \(hold.key) at \(t(hold.acquiredAt))" + (hold.expired ? " (expired at \(t(hold.expiresAt)))" : ""))
                    }
                    for transaction in facts.transactions(of: user) {
                        parts.append("\(transaction.database) tx\(transaction.number) " + (transaction.outcome == .committed ? "committed at \(t(transaction.end ?? 0))" : "did not commit"))
                        if let end = transaction.endIndex, transaction.outcome == .committed { steps.append(step(end, "\(name(user)): \(transaction.database) tx\(transaction.number) commits")) }
                    }
                    parts.append(outcomeText(user))
                    if let arrive = facts.events(of: user, where: { $0.op == .arrive }).first { steps.append(step(arrive.index, "\(name(user)) sends its confirm")) }
                    if let complete = facts.events(of: user, where: { $0.op == .complete }).last { steps.append(step(complete.index, "\(name(user)) gets \(Format.status(outcomes[user - 1].status))")) }
                    stories.append("\(name(user)) (\(Format.stay(outcomes[user - 1].stay))) " + Format.list(parts) + ".")
                }
            } else {
                stories = involved.filter { $0 >= 1 && $0 <= outcomes.count }.map { "\(name($0)): \(outcomeText($0))." }
            }
            return Explanation(title: title, violations: violations, stories: stories, causes: causes, steps: steps, users: involved)
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
