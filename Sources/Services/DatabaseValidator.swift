import Backends
import BookingCore

/// The seed's `validate_results.py`: reads both databases after a test and checks, for one
/// room and night, that bookings and inventory agree. Read-only.
public struct DatabaseValidation: Sendable {
    public struct Check: Hashable, Sendable {
        public var title: String
        public var expected: String
        public var got: String
        public var passed: Bool
    }

    public var room: RoomID
    public var night: Night
    /// `rooms.total_quantity`; `nil` when the room does not exist.
    public var totalQuantity: Int?
    /// `availability.available_quantity` for the night; `nil` when there is no row.
    public var availableQuantity: Int?
    /// Confirmed bookings of the room whose stay covers the night, by id.
    public var bookings: [Booking]
    /// Bookings of the room covering the night that are not confirmed: pending, cancelled or
    /// abandoned (the fixed variants).
    public var otherBookings: [Booking]
    public var checks: [Check]

    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// - Parameter expectedBookings: the seed's "only 1 booking" criterion; `nil` skips it
    ///   (the consistency checks still run).
    public static func run(inventory: any InventoryDatabase, bookings database: any BookingDatabase,
                           room: RoomID, night: Night, expectedBookings: Int?) async throws(StoreError) -> DatabaseValidation {
        let total = try await inventory.rooms().first { $0.id == room }?.totalQuantity
        let available = try await inventory.availableQuantity(RoomNight(room: room, night: night))
        let covering = try await database.allBookings().filter { booking in
            booking.room == room && booking.checkIn <= night && night < booking.checkOut
        }
        let confirmed = covering.filter { $0.status == .confirmed }
        var validation = DatabaseValidation(room: room, night: night, totalQuantity: total, availableQuantity: available,
                                            bookings: confirmed, otherBookings: covering.filter { $0.status != .confirmed }, checks: [])
        validation.checks = validation.evaluate(expectedBookings: expectedBookings)
        return validation
    }

    func evaluate(expectedBookings: Int?) -> [Check] {
        var checks: [Check] = []
        checks.append(Check(title: "Room \(room) exists", expected: "a rooms row", got: totalQuantity.map { "total_quantity \($0)" } ?? "none",
                            passed: totalQuantity != nil))
        checks.append(Check(title: "Availability row for \(night)", expected: "a row", got: availableQuantity.map { "available_quantity \($0)" } ?? "none",
                            passed: availableQuantity != nil))
        if let expectedBookings {
            checks.append(Check(title: "Only \(expectedBookings) confirmed booking\(expectedBookings == 1 ? "" : "s")",
                                expected: "\(expectedBookings)", got: "\(bookings.count)", passed: bookings.count == expectedBookings))
        }
        if let totalQuantity {
            checks.append(Check(title: "No overbooking (confirmed bookings <= total_quantity)", expected: "<= \(totalQuantity)",
                                got: "\(bookings.count)", passed: bookings.count <= totalQuantity))
        }
        if let totalQuantity, let availableQuantity {
            let taken = totalQuantity - availableQuantity
            if let expectedBookings {
                checks.append(Check(title: "Availability decremented by exactly \(expectedBookings)", expected: "\(expectedBookings)",
                                    got: "\(taken) (\(totalQuantity) -> \(availableQuantity))", passed: taken == expectedBookings))
            }
            checks.append(Check(title: "Bookings and inventory consistent (total - available = confirmed bookings)",
                                expected: "\(bookings.count)", got: "\(taken)", passed: taken == bookings.count))
            checks.append(Check(title: "Availability not negative", expected: ">= 0", got: "\(availableQuantity)", passed: availableQuantity >= 0))
        }
        var perUser: [UserID: Int] = [:]
        for booking in bookings { perUser[booking.userID, default: 0] += 1 }
        let duplicated = perUser.filter { $0.value > 1 }.keys.sorted()
        checks.append(Check(title: "No duplicate bookings for the same user", expected: "0 users",
                            got: duplicated.isEmpty ? "0 users" : "\(duplicated.count) users (\(duplicated.prefix(5).map(\.rawValue).joined(separator: ", ")))",
                            passed: duplicated.isEmpty))
        return checks
    }
}

extension DatabaseValidation {
    /// Validates the databases at two URLs, with a one-connection pool each, closed afterwards.
    public static func run(inventoryDatabaseURL: String, bookingDatabaseURL: String, room: RoomID, night: Night,
                           expectedBookings: Int?) async throws -> DatabaseValidation {
        let inventory = try PostgresPool(url: inventoryDatabaseURL, poolSize: 1)
        let bookings = try PostgresPool(url: bookingDatabaseURL, poolSize: 1)
        do {
            let result = try await run(inventory: PostgresInventoryDatabase(pool: inventory), bookings: PostgresBookingDatabase(pool: bookings),
                                       room: room, night: night, expectedBookings: expectedBookings)
            await inventory.close()
            await bookings.close()
            return result
        } catch {
            await inventory.close()
            await bookings.close()
            throw error
        }
    }

    /// The validator's report, in the seed's `validate_results.py` sections.
    public var text: String {
        let rule = String(repeating: "=", count: 80)
        func section(_ title: String) -> String { "\n\(rule)\n\(title)\n\(rule)\n" }
        var text = section("DATABASE VALIDATION")
        text += "Room ID: \(room)\nNight: \(night)\n"
        text += section("BOOKINGS (booking_db)")
        text += "Confirmed bookings covering \(night): \(bookings.count)\n"
        for booking in bookings.prefix(50) {
            text += "  #\(booking.id) \(booking.userID) \(booking.checkIn)..\(booking.checkOut) \(booking.status.rawValue)\n"
        }
        if bookings.count > 50 { text += "  ... and \(bookings.count - 50) more\n" }
        if !otherBookings.isEmpty {
            text += "Bookings covering it that are not confirmed: \(otherBookings.count)\n"
        }
        text += section("INVENTORY (inventory_db)")
        text += "Room \(room) total_quantity: \(totalQuantity.map(String.init) ?? "no such room")\n"
        text += "Available on \(night): \(availableQuantity.map(String.init) ?? "no availability row")\n"
        text += section("VALIDATION CRITERIA")
        for check in checks {
            text += "\n\(check.passed ? "✓" : "✗") \(check.title): \(check.passed ? "PASS" : "FAIL")\n  Expected: \(check.expected), Got: \(check.got)\n"
        }
        text += section("OVERALL RESULT: \(passed ? "✓ PASS" : "✗ FAIL")")
        return text
    }
}
