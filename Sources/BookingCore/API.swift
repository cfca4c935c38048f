/// The seed's HTTP API as typed values.
///
/// The simulator passes these values between processes without encoding them; real mode maps
/// each case one-to-one onto the seed's method, path and JSON body (see `openapi.yaml`).

/// `POST /api/bookings/confirm` body: `{"user_id","room_id","check_in","check_out"}`, plus the
/// optional `request_id` the idempotent variant keys on.
public struct ConfirmBody: Hashable, Sendable, Codable {
    public var userID: UserID
    public var room: RoomID
    public var checkIn: Night
    public var checkOut: Night
    public var requestID: RequestID?

    public init(userID: UserID, room: RoomID, checkIn: Night, checkOut: Night, requestID: RequestID? = nil) {
        self.userID = userID
        self.room = room
        self.checkIn = checkIn
        self.checkOut = checkOut
        self.requestID = requestID
    }

    public init(userID: UserID, stay: Stay, requestID: RequestID? = nil) {
        self.init(userID: userID, room: stay.room, checkIn: stay.checkIn, checkOut: stay.checkOut, requestID: requestID)
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case room = "room_id"
        case checkIn = "check_in"
        case checkOut = "check_out"
        case requestID = "request_id"
    }
}

/// `POST /api/rooms/{id}/reserve` and `/release` body: the stay's nights, and for the fenced
/// variant the token the caller holds.
public struct ReserveBody: Hashable, Sendable, Codable {
    public var checkIn: Night
    public var checkOut: Night
    public var quantity: Int
    public var requestID: RequestID?
    public var fencingToken: Int?
    /// The lock the fencing token belongs to (the fence's resource).
    public var fenceKey: String?

    public init(checkIn: Night, checkOut: Night, quantity: Int = 1, requestID: RequestID? = nil,
                fencingToken: Int? = nil, fenceKey: String? = nil) {
        self.checkIn = checkIn
        self.checkOut = checkOut
        self.quantity = quantity
        self.requestID = requestID
        self.fencingToken = fencingToken
        self.fenceKey = fenceKey
    }

    /// The wire names, which the services' lenient decoding reads too.
    public enum CodingKeys: String, CodingKey {
        case checkIn = "check_in"
        case checkOut = "check_out"
        case quantity
        case requestID = "request_id"
        case fencingToken = "fencing_token"
        case fenceKey = "fence_key"
    }
}

public enum InventoryRequest: Hashable, Sendable {
    case health
    case listRooms
    case room(RoomID)
    case availability(RoomID, Night)
    case reserve(RoomID, ReserveBody)
    case release(RoomID, ReserveBody)
}

public enum BookingRequest: Hashable, Sendable {
    case health
    case confirm(ConfirmBody)
    case booking(BookingID)
    case userBookings(UserID)
    case allBookings
}

/// `GET /api/rooms/{id}/availability?date=` answer.
public struct AvailabilityBody: Hashable, Sendable, Codable {
    public var room: RoomID
    public var date: Night
    public var availableQuantity: Int
    public var available: Bool { availableQuantity > 0 }

    public init(room: RoomID, date: Night, availableQuantity: Int) {
        self.room = room
        self.date = date
        self.availableQuantity = availableQuantity
    }

    enum CodingKeys: String, CodingKey {
        case room = "room_id"
        case date
        case availableQuantity = "available_quantity"
        case available
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        room = try container.decode(RoomID.self, forKey: .room)
        date = try container.decode(Night.self, forKey: .date)
        availableQuantity = try container.decode(Int.self, forKey: .availableQuantity)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(room, forKey: .room)
        try container.encode(date, forKey: .date)
        try container.encode(availableQuantity, forKey: .availableQuantity)
        try container.encode(available, forKey: .available)
    }
}

/// A dependency's state as `GET /api/health` reports it.
public struct HealthBody: Hashable, Sendable, Codable {
    public var service: String
    public var status: String
    public var dependencies: [String: String]
    public init(service: String, status: String, dependencies: [String: String]) {
        self.service = service
        self.status = status
        self.dependencies = dependencies
    }
}

/// The JSON body of an answer, typed.
public enum ResponseBody: Hashable, Sendable {
    case booking(Booking)
    case bookings([Booking])
    case room(Room)
    case rooms([Room])
    case availability(AvailabilityBody)
    /// Reserve/release succeeded for these nights.
    case inventoryChanged(room: RoomID, nights: [Night])
    case health(HealthBody)
    /// `{"success": false, "error": message}`.
    case error(String)
    /// `{"success": false, "error": message, "outcome": "unknown"}`, sent with `503`: the request
    /// may or may not have taken effect, and sending it again with the same request id finds
    /// out which. The fixed variants answer it where the steps cannot tell (`FixedFlow`), so that
    /// their plain `503` keeps meaning that nothing was written.
    case outcomeUnknown(String)

    /// The message of an error answer, whichever kind.
    public var errorMessage: String? {
        switch self {
        case .error(let message), .outcomeUnknown(let message): message
        default: nil
        }
    }
}

/// An answer: the seed's HTTP status code and body.
public struct APIResponse: Hashable, Sendable {
    public var status: Int
    public var body: ResponseBody

    public init(status: Int, body: ResponseBody) {
        self.status = status
        self.body = body
    }

    public static func error(_ status: Int, _ message: String) -> APIResponse {
        APIResponse(status: status, body: .error(message))
    }

    /// `503`, saying that whether the request took effect is unknown (`ResponseBody.outcomeUnknown`).
    public static func outcomeUnknown(_ message: String) -> APIResponse {
        APIResponse(status: StatusCode.serviceUnavailable, body: .outcomeUnknown(message))
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Whether the answer says the request's outcome is unknown.
    public var saysOutcomeUnknown: Bool { if case .outcomeUnknown = body { true } else { false } }
}

/// Status codes the algorithms answer with, named after the seed's meaning for them.
public enum StatusCode {
    public static let ok = 200
    public static let created = 201
    /// A crash-safe saga's booking is pending: it will be confirmed or cancelled.
    public static let accepted = 202
    public static let badRequest = 400
    public static let notFound = 404
    public static let conflict = 409
    public static let internalError = 500
    public static let serviceUnavailable = 503
}
