import ArgumentParser
import Backends
import BookingCore
import RealHarness
import Foundation
import Services

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "The seed's database validator: do bookings and inventory agree for one room and night?",
        discussion: """
        `validate_results.py`: reads booking_db and inventory_db (read-only) and checks, for the \
        room and night: the number of confirmed bookings, no overbooking, availability \
        decremented by exactly that number, bookings and inventory consistent, no user booked \
        twice. Exits 1 when a check fails, 2 when a database cannot be read.

        Example:
          overbook validate --inventory-database-url postgresql://overbook@127.0.0.1:5432/inventory_db \\
              --booking-database-url postgresql://overbook@127.0.0.1:5432/booking_db --room-id 1 --check-in 2026-03-15
        """
    )

    @Option(name: .customLong("inventory-database-url"), help: "PostgreSQL URL of inventory_db (or set \(EnvironmentVariable.inventoryDatabaseURL)).")
    var inventoryDatabaseURL: String?

    @Option(name: .customLong("booking-database-url"), help: "PostgreSQL URL of booking_db (or set \(EnvironmentVariable.bookingDatabaseURL)).")
    var bookingDatabaseURL: String?

    @Option(help: "Room to check.")
    var roomId = 1

    @Option(help: "The night to check (the stay's check-in), YYYY-MM-DD.")
    var checkIn = "2026-03-15"

    @Option(help: "Confirmed bookings expected for that night (the seed: 1); pass -1 to check consistency only.")
    var expectedBookings = 1

    func validate() throws {
        guard roomId >= 1 else { throw ValidationError("--room-id must be a positive integer") }
        guard Night(iso: checkIn) != nil else { throw ValidationError("--check-in must be a date YYYY-MM-DD, got '\(checkIn)'") }
    }

    func run() throws {
        let inventoryURL = try EnvironmentVariable.value(inventoryDatabaseURL, EnvironmentVariable.inventoryDatabaseURL,
                                                         option: "--inventory-database-url", example: "postgresql://overbook@127.0.0.1:5432/inventory_db")
        let bookingURL = try EnvironmentVariable.value(bookingDatabaseURL, EnvironmentVariable.bookingDatabaseURL,
                                                       option: "--booking-database-url", example: "postgresql://overbook@127.0.0.1:5432/booking_db")
        let room = RoomID(roomId)
        let night = Night(iso: checkIn)!
        let expected = expectedBookings >= 0 ? expectedBookings : nil
        let validation: DatabaseValidation
        do {
            validation = try runBlocking {
                let inventory = try PostgresPool(url: inventoryURL, poolSize: 1)
                let bookings = try PostgresPool(url: bookingURL, poolSize: 1)
                do {
                    let result = try await DatabaseValidation.run(inventory: PostgresInventoryDatabase(pool: inventory),
                                                                  bookings: PostgresBookingDatabase(pool: bookings),
                                                                  room: room, night: night, expectedBookings: expected)
                    await inventory.close()
                    await bookings.close()
                    return result
                } catch {
                    await inventory.close()
                    await bookings.close()
                    throw error
                }
            }
        } catch {
            Console.error("could not read the databases: \(error)")
            throw ExitCode(2)
        }
        print(Self.render(validation))
        if !validation.passed { throw ExitCode(1) }
    }

    static func render(_ validation: DatabaseValidation) -> String {
        let rule = String(repeating: "=", count: 80)
        func section(_ title: String) -> String { "\n\(rule)\n\(title)\n\(rule)\n" }
        var text = section("DATABASE VALIDATION")
        text += "Room ID: \(validation.room)\nNight: \(validation.night)\n"
        text += section("BOOKINGS (booking_db)")
        text += "Confirmed bookings covering \(validation.night): \(validation.bookings.count)\n"
        for booking in validation.bookings.prefix(50) {
            text += "  #\(booking.id) \(booking.userID) \(booking.checkIn)..\(booking.checkOut) \(booking.status.rawValue)\n"
        }
        if validation.bookings.count > 50 { text += "  ... and \(validation.bookings.count - 50) more\n" }
        if !validation.otherBookings.isEmpty {
            text += "Pending or cancelled bookings covering it: \(validation.otherBookings.count)\n"
        }
        text += section("INVENTORY (inventory_db)")
        text += "Room \(validation.room) total_quantity: \(validation.totalQuantity.map(String.init) ?? "no such room")\n"
        text += "Available on \(validation.night): \(validation.availableQuantity.map(String.init) ?? "no availability row")\n"
        text += section("VALIDATION CRITERIA")
        for check in validation.checks {
            text += "\n\(check.passed ? "✓" : "✗") \(check.title): \(check.passed ? "PASS" : "FAIL")\n  Expected: \(check.expected), Got: \(check.got)\n"
        }
        text += section("OVERALL RESULT: \(validation.passed ? "✓ PASS" : "✗ FAIL")")
        return text
    }
}
