import BookingCore
import RunObservation
import Checking
import Simulation

extension Timeline {
    /// What the timeline shows: the users drawn in detail, and the processes that get a lane.
    struct Selection {
        var featured: Set<Int>
        /// In `ProcessID` order.
        var processes: [ProcessID]

        init(_ input: Input) {
            featured = Self.featuredUsers(input)
            processes = Self.processes(input.facts).sorted()
        }

        /// The harness's own user (0) is always drawn in detail.
        func isDetailed(_ user: Int) -> Bool { user == 0 || featured.contains(user) }

        /// Every user while they are few; past that, the highlighted ones, then those who
        /// booked, those left without an answer, and a few of each status.
        static func featuredUsers(_ input: Input) -> Set<Int> {
            let outcomes = input.outcomes
            let userCount = outcomes.count
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
            return featured
        }

        /// Every process that acts or is named, but clients (they have user lanes); Redis when
        /// locks were tried; the harness only when it has events no dedicated rule draws.
        static func processes(_ facts: TraceFacts) -> Set<ProcessID> {
            let events = facts.events
            var processes = Set<ProcessID>()
            for event in events {
                processes.insert(event.process.id)
                if case .process(let id) = event.subject { processes.insert(id) }
            }
            processes = processes.filter { $0.kind != .client }
            if !facts.attempts.isEmpty { processes.insert(ProcessID(kind: .redis, index: 0)) }
            let hasOtherEvents = events.contains { $0.process.id.kind == .harness && !drawnOps.contains($0.op) }
            if !hasOtherEvents { processes = processes.filter { $0.kind != .harness } }
            return processes
        }
    }
}
