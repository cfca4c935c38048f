import BookingCore
import Synchronization

// Shared by the contract suites (here) and the real-backend tests (Tests/BackendsTests links
// this file): the seed data every world starts from, and two small helpers.

/// The data the inventory scenarios expect: seeded, nothing booked yet.
enum ContractFixture {
    static let lastRoom = RoomSpec(id: RoomID(1), name: "Standard Single", capacity: 1)
    static let roomyRoom = RoomSpec(id: RoomID(2), name: "Standard Double", capacity: 5)
    static let rooms = [lastRoom, roomyRoom]
    static let nights = [Night(iso: "2026-03-15")!, Night(iso: "2026-03-16")!]

    /// Capacity 1: the seed experiment's contested room-night.
    static let contested = RoomNight(room: lastRoom.id, night: nights[0])
    static let roomy = RoomNight(room: roomyRoom.id, night: nights[0])
    static let unknownNight = RoomNight(room: lastRoom.id, night: Night(iso: "2026-04-01")!)

    static let stay = Stay(room: lastRoom.id, checkIn: nights[0], checkOut: nights[1])!

    /// Every room-night of the fixture at full capacity, as seeded.
    static var availability: [RoomNight: Int] {
        var result: [RoomNight: Int] = [:]
        for room in rooms {
            for night in nights { result[RoomNight(room: room.id, night: night)] = room.capacity }
        }
        return result
    }
}

/// A flag set by one task and read by another.
final class Flag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }

    /// Whether the flag gets set within `bound`, polled every 50 ms. "Does not wait" checks use
    /// this rather than one fixed sleep: on a loaded machine a statement that does not wait can
    /// still take longer than any short sleep, while one that waits for a lock never finishes
    /// before the test releases it.
    func becomesSet(within bound: Duration = .seconds(10), clock: any Clock<Duration>) async throws -> Bool {
        var waited = Duration.zero
        while !isSet && waited < bound {
            try await clock.sleep(for: .milliseconds(50))
            waited += .milliseconds(50)
        }
        return isSet
    }
}

func outcome<T>(_ body: () async throws(StoreError) -> T) async -> Result<T, StoreError> {
    do throws(StoreError) { return .success(try await body()) } catch { return .failure(error) }
}
