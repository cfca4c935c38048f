import BookingCore
import Checking
import Services

/// A database could not be read: `description` says why.
public struct DatabaseReadError: Error, CustomStringConvertible {
    public let description: String
}

extension DatabaseValidation {
    /// What is wrong with `overbook validate`'s room and night, in the options' words; `nil` if nothing.
    public static func problem(room: Int, checkIn: String) -> String? { roomNightProblem(room: room, checkIn: checkIn) }

    /// `overbook validate`: the seed's validator for room `room` and the night `checkIn`
    /// (`expectedBookings` < 0: consistency only), its report on `output`. Returns whether
    /// every check passed; a database that cannot be read is a `DatabaseReadError`.
    public static func check(inventoryDatabaseURL: String, bookingDatabaseURL: String, room: Int, checkIn: String, expectedBookings: Int,
                             output: CommandOutput) throws(DatabaseReadError) -> Bool {
        let (room, night, expected) = (RoomID(room), Night(iso: checkIn)!, expectedBookings >= 0 ? expectedBookings : nil)
        let validation: DatabaseValidation
        do {
            validation = try runBlocking {
                try await run(inventoryDatabaseURL: inventoryDatabaseURL, bookingDatabaseURL: bookingDatabaseURL, room: room, night: night,
                              expectedBookings: expected)
            }
        } catch {
            throw DatabaseReadError(description: "could not read the databases: \(error)")
        }
        output.line(validation.text)
        return validation.passed
    }
}

extension HealthProbe {
    /// `overbook health`: whether `url` answers 200 within `timeout`; says so on `output`
    /// (what is wrong, as an error message).
    public static func check(url: String, timeout: Duration, output: CommandOutput) throws -> Bool {
        if let problem = try runBlocking({ await problem(url: url, timeout: timeout) }) {
            output.error(problem)
            return false
        }
        output.line("\(url): healthy")
        return true
    }
}
