import BookingCore
import Foundation
@testable import Services
import Testing

/// Real mode's sync workers (`serve --workers`): requests past the workers wait their turn in
/// arrival order, and one past the backlog is refused at once.
@Suite struct SyncWorkersTests {
    @Test func waitersGetTheWorkerInArrivalOrderAndTheBacklogRefusesTheRest() async throws {
        let workers = SyncWorkers(workers: 1, backlog: 2)
        #expect(await workers.enter())
        let order = OrderLog()
        var waiters: [Task<Void, Never>] = []
        for index in 1...2 {
            waiters.append(Task {
                #expect(await workers.enter())
                order.append(index)
                workers.leave()
            })
            // Each waiter queued before the next is started, so their order is known.
            while workers.load.waiting < index { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(await workers.enter() == false, "a third waiter finds the backlog full")
        #expect(workers.load == (busy: 1, waiting: 2))
        workers.leave()
        for waiter in waiters { await waiter.value }
        #expect(order.values == [1, 2])
        #expect(workers.load == (busy: 0, waiting: 0))
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ value: Int) { lock.withLock { items.append(value) } }
    var values: [Int] { lock.withLock { items } }
}
