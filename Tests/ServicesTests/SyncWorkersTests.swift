import BookingCore
import Foundation
@testable import Services
import Testing

/// Real mode's sync workers (`serve --workers`): requests past the workers wait their turn in
/// arrival order, and one past the backlog is refused at once, without running.
@Suite struct SyncWorkersTests {
    @Test func waitersGetTheWorkerInArrivalOrderAndTheBacklogRefusesTheRest() async throws {
        let workers = SyncWorkers(workers: 1, backlog: 2)
        let order = OrderLog()
        let (release, holder) = AsyncStream.makeStream(of: Void.self)
        // The first request holds the only worker until released.
        let first = Task { await workers.serve { order.append(0); for await _ in release { break } } }
        while order.values.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
        var waiters: [Task<Void?, Never>] = []
        for index in 1...2 {
            waiters.append(Task { await workers.serve { order.append(index) } })
            // Each waiter queued before the next is started, so their order is known.
            while workers.waiting < index { try await Task.sleep(for: .milliseconds(1)) }
        }
        let refused = await workers.serve { order.append(99) }
        #expect(refused == nil, "a third waiter finds the backlog full")
        holder.yield()
        holder.finish()
        #expect(await first.value != nil)
        for waiter in waiters { #expect(await waiter.value != nil) }
        #expect(order.values == [0, 1, 2])
        #expect(workers.waiting == 0)
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func append(_ value: Int) { lock.withLock { items.append(value) } }
    var values: [Int] { lock.withLock { items } }
}
