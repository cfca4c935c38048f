/// Domain types shared by every world (simulated and real).
///
/// They are small value types so the simulator can copy them freely; none of them reads a
/// clock, a random source or the environment.

public struct RoomID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: RoomID, b: RoomID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A user as the seed's client names them (`"user_7"`); opaque to the algorithm.
public struct UserID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The seed client's naming for its i-th concurrent user.
    public static func numbered(_ index: Int) -> UserID { UserID("user_\(index)") }
    public static func < (a: UserID, b: UserID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Identifies one confirm attempt end to end (client → booking → inventory), so a retry of the
/// same request can be recognised and histories can pair invocations with completions.
public struct RequestID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (a: RequestID, b: RequestID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// `bookings.id`, assigned by the booking database (a `SERIAL` in the seed).
public struct BookingID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: BookingID, b: BookingID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A calendar date (`YYYY-MM-DD`, proleptic Gregorian) standing for the night that starts on it.
///
/// Stored as days since 1970-01-01 so that it orders, hashes and steps without Foundation's
/// calendars or time zones, which would make results depend on the machine.
public struct Night: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let daysSinceEpoch: Int

    public init(daysSinceEpoch: Int) { self.daysSinceEpoch = daysSinceEpoch }

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...Night.daysInMonth(year: year, month: month)).contains(day) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        daysSinceEpoch = era * 146_097 + doe - 719_468
    }

    /// Parses exactly `YYYY-MM-DD`; anything else (including impossible dates) is `nil`.
    public init?(iso text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var civil: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public var description: String {
        let (year, month, day) = civil
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public func adding(days: Int) -> Night { Night(daysSinceEpoch: daysSinceEpoch + days) }
    public static func < (a: Night, b: Night) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let night = Night(iso: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a date of the form YYYY-MM-DD")
        }
        self = night
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A stay in one room: the nights from `checkIn` up to, not including, `checkOut`.
public struct Stay: Hashable, Sendable, CustomStringConvertible {
    public let room: RoomID
    public let checkIn: Night
    public let checkOut: Night

    /// `nil` when check-out is not after check-in: such a stay books no night.
    public init?(room: RoomID, checkIn: Night, checkOut: Night) {
        guard checkOut > checkIn else { return nil }
        self.room = room
        self.checkIn = checkIn
        self.checkOut = checkOut
    }

    public var nights: [Night] {
        (checkIn.daysSinceEpoch..<checkOut.daysSinceEpoch).map(Night.init(daysSinceEpoch:))
    }

    public var nightCount: Int { checkOut.daysSinceEpoch - checkIn.daysSinceEpoch }

    public var description: String { "room \(room) \(checkIn)..\(checkOut)" }
}

/// One row of the inventory's `availability` table: room and night.
public struct RoomNight: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let room: RoomID
    public let night: Night
    public init(room: RoomID, night: Night) {
        self.room = room
        self.night = night
    }
    public static func < (a: RoomNight, b: RoomNight) -> Bool {
        (a.room, a.night) < (b.room, b.night)
    }
    public var description: String { "room \(room) night \(night)" }
}

/// A room as the inventory's `rooms` table holds it.
public struct Room: Hashable, Sendable, Codable {
    public let id: RoomID
    public let name: String
    public let totalQuantity: Int
    public init(id: RoomID, name: String, totalQuantity: Int) {
        self.id = id
        self.name = name
        self.totalQuantity = totalQuantity
    }
    enum CodingKeys: String, CodingKey {
        case id, name
        case totalQuantity = "total_quantity"
    }
}

public enum BookingStatus: String, Sendable, Codable, Hashable {
    /// The crash-safe saga's first step: written before the inventory is reserved.
    case pending
    case confirmed
    case cancelled
    /// A request given up without effect (a fixed variant's `503`), recorded against its
    /// request id so that no attempt of it still in flight books later.
    case abandoned
}

/// A row of the booking database's `bookings` table.
public struct Booking: Hashable, Sendable, Codable {
    public var id: BookingID
    public var userID: UserID
    public var room: RoomID
    public var checkIn: Night
    public var checkOut: Night
    public var status: BookingStatus
    /// The confirm request that created this booking (the idempotent variant makes it unique).
    public var requestID: RequestID?
    /// The fencing token the writer held, when the variant uses one.
    public var fencingToken: Int?

    public init(id: BookingID, userID: UserID, room: RoomID, checkIn: Night, checkOut: Night,
                status: BookingStatus = .confirmed, requestID: RequestID? = nil, fencingToken: Int? = nil) {
        self.id = id
        self.userID = userID
        self.room = room
        self.checkIn = checkIn
        self.checkOut = checkOut
        self.status = status
        self.requestID = requestID
        self.fencingToken = fencingToken
    }

    public var stay: Stay? { Stay(room: room, checkIn: checkIn, checkOut: checkOut) }

    enum CodingKeys: String, CodingKey {
        case id, status
        case userID = "user_id"
        case room = "room_id"
        case checkIn = "check_in"
        case checkOut = "check_out"
        case requestID = "request_id"
        case fencingToken = "fencing_token"
    }
}

/// What the booking database is asked to insert; the database assigns the id.
public struct NewBooking: Hashable, Sendable {
    public var userID: UserID
    public var stay: Stay
    public var requestID: RequestID?
    public var fencingToken: Int?
    public var status: BookingStatus
    public init(userID: UserID, stay: Stay, requestID: RequestID? = nil, fencingToken: Int? = nil, status: BookingStatus = .confirmed) {
        self.userID = userID
        self.stay = stay
        self.requestID = requestID
        self.fencingToken = fencingToken
        self.status = status
    }
}

/// Whole milliseconds of `duration`, rounded down: how the services' command-line flags and the
/// fault control's JSON give durations.
public func milliseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
}
