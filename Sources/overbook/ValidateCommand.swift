import ArgumentParser
import RealHarness
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

    @Option(name: .customLong("inventory-database-url"), help: "PostgreSQL URL of inventory_db (or set \(ServiceEnvironment.inventoryDatabaseURL.variable)).")
    var inventoryDatabaseURL: String?

    @Option(name: .customLong("booking-database-url"), help: "PostgreSQL URL of booking_db (or set \(ServiceEnvironment.bookingDatabaseURL.variable)).")
    var bookingDatabaseURL: String?

    @Option(help: "Room to check.")
    var roomId = 1

    @Option(help: "The night to check (the stay's check-in), YYYY-MM-DD.")
    var checkIn = "2026-03-15"

    @Option(help: "Confirmed bookings expected for that night (the seed: 1); pass -1 to check consistency only.")
    var expectedBookings = 1

    func validate() throws {
        try refuse(DatabaseValidation.problem(room: roomId, checkIn: checkIn))
    }

    func run() throws {
        let inventoryURL = try setting { try ServiceEnvironment.inventoryDatabaseURL.value(flag: inventoryDatabaseURL, option: "--inventory-database-url") }
        let bookingURL = try setting { try ServiceEnvironment.bookingDatabaseURL.value(flag: bookingDatabaseURL, option: "--booking-database-url") }
        let passed = try exitingWithStatus2(on: DatabaseReadError.self) {
            try DatabaseValidation.check(inventoryDatabaseURL: inventoryURL, bookingDatabaseURL: bookingURL, room: roomId, checkIn: checkIn,
                                         expectedBookings: expectedBookings, output: Console.output)
        }
        if !passed { throw ExitCode(1) }
    }
}
