import BookingCore
import Foundation

/// Why a request was refused before it reached the algorithm: always a 4xx with a JSON error,
/// and nothing written anywhere. The message says what to send instead.
public struct InputProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// For 405: the methods the path does accept (the `Allow` header).
    public let allowed: [String]

    public init(status: Int, _ message: String, allowed: [String] = []) {
        self.status = status
        self.message = message
        self.allowed = allowed
    }

    public var description: String { "HTTP \(status): \(message)" }

    public static func badRequest(_ message: String) -> InputProblem { InputProblem(status: 400, message) }
    public static func notFound(_ message: String) -> InputProblem { InputProblem(status: 404, message) }

    public static func methodNotAllowed(_ method: String, path: String, allowed: [String]) -> InputProblem {
        InputProblem(status: 405, "\(method) is not allowed on \(path); use \(allowed.joined(separator: " or "))", allowed: allowed)
    }

    public static func tooLarge(limit: Int) -> InputProblem {
        InputProblem(status: 413, "request body larger than \(limit) bytes; send at most \(limit / 1024) KiB of JSON")
    }

    /// A short, user-facing account of a `DecodingError` (which field, what was wrong), without
    /// Foundation's internal coding-path dumps.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the body" : "'" + codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing field '\(key.stringValue)'\(parent)"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "malformed JSON (\(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription))"
            }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is RoomID.Type, is BookingID.Type: "an integer"
        case is String.Type, is UserID.Type, is RequestID.Type: "a string"
        case is Night.Type: "a date string YYYY-MM-DD"
        case is Bool.Type: "true or false"
        default: "a JSON object"
        }
    }
}

/// Turns path segments, query values and JSON bodies into the API's typed values.
enum InputParsing {
    /// Ids are PostgreSQL `integer`s: a larger one would reach the database only to be refused
    /// there (`22003`), so it is refused here, as the spec's `maximum` says.
    static let ids = 1...Int(Int32.max)

    /// A room id from the path: an integer in `ids`.
    static func roomID(_ text: String?) throws(InputProblem) -> RoomID {
        guard let text, let value = Int(text), ids.contains(value) else {
            throw .badRequest("room id '\(text ?? "")' must be an integer from 1 to \(ids.upperBound), as in /api/rooms/1")
        }
        return RoomID(value)
    }

    static func bookingID(_ text: String?) throws(InputProblem) -> BookingID {
        guard let text, let value = Int(text), ids.contains(value) else {
            throw .badRequest("booking id '\(text ?? "")' must be an integer from 1 to \(ids.upperBound), as in /api/bookings/1")
        }
        return BookingID(value)
    }

    /// An identifier in a body: 1 to `maxIdentifierLength` characters, no NUL.
    static func checkIdentifier(_ value: String?, name: String, optional: Bool) throws(InputProblem) {
        guard let value else {
            if optional { return }
            throw .badRequest("'\(name)' is required")
        }
        guard isIdentifier(value) else {
            throw .badRequest("'\(name)' must be a string of 1 to \(maxIdentifierLength) characters without NUL\(optional ? " when present" : "")")
        }
    }

    static func userID(_ text: String?) throws(InputProblem) -> UserID {
        guard let text, isIdentifier(text) else {
            throw .badRequest("user id must be 1 to \(maxIdentifierLength) characters without NUL, as in /api/bookings/user/user_1")
        }
        return UserID(text)
    }

    /// The spec's identifiers: `minLength: 1`, `maxLength: 200` in Unicode code points (what
    /// JSON Schema counts), and no NUL (`pattern: ^[^\u0000]*$`), which PostgreSQL `text` cannot
    /// store: it would reach the database only to be refused there (`22021`), as a 503.
    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.count <= maxIdentifierLength && !text.utf8.contains(0)
    }

    static func date(_ text: String?, name: String) throws(InputProblem) -> Night {
        guard let text else { throw .badRequest("missing query parameter '\(name)'; add ?\(name)=YYYY-MM-DD") }
        guard let night = Night(iso: text) else {
            throw .badRequest("'\(name)' must be a real calendar date YYYY-MM-DD, got '\(text)'")
        }
        return night
    }

    /// Longest stay accepted: a year. Each night costs the algorithm a round trip, so an
    /// unbounded stay would be a way to keep a lock and a connection busy for minutes.
    static let maxNights = 366
    static let maxIdentifierLength = 200

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(InputProblem) -> T {
        guard !data.isEmpty else { throw .badRequest("empty body; send a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .badRequest("invalid body: \(InputProblem.describe(error))")
        }
    }

    static func stay(room: RoomID, checkIn: Night, checkOut: Night) throws(InputProblem) -> Stay {
        guard let stay = Stay(room: room, checkIn: checkIn, checkOut: checkOut) else {
            throw .badRequest("check_out (\(checkOut)) must be after check_in (\(checkIn))")
        }
        guard stay.nights.count <= maxNights else {
            throw .badRequest("a stay may last at most \(maxNights) nights; this one has \(stay.nights.count)")
        }
        return stay
    }

    /// `POST /api/bookings/confirm`.
    static func confirm(_ data: Data) throws(InputProblem) -> ConfirmBody {
        let body = try decode(ConfirmBody.self, from: data)
        guard ids.contains(body.room.rawValue) else { throw .badRequest("'room_id' must be an integer from 1 to \(ids.upperBound)") }
        try checkIdentifier(body.userID.rawValue, name: "user_id", optional: false)
        try checkIdentifier(body.requestID?.rawValue, name: "request_id", optional: true)
        _ = try stay(room: body.room, checkIn: body.checkIn, checkOut: body.checkOut)
        return body
    }

    /// `POST /api/rooms/{id}/reserve` and `/release`.
    static func reserve(_ data: Data, room: RoomID) throws(InputProblem) -> ReserveBody {
        let body = try decode(ReserveWireBody.self, from: data).body
        guard ids.contains(body.quantity) else { throw .badRequest("'quantity' must be an integer from 1 to \(ids.upperBound)") }
        _ = try stay(room: room, checkIn: body.checkIn, checkOut: body.checkOut)
        try checkIdentifier(body.requestID?.rawValue, name: "request_id", optional: true)
        if (body.fencingToken == nil) != (body.fenceKey == nil) {
            throw .badRequest("'fencing_token' and 'fence_key' go together; send both or neither")
        }
        if let token = body.fencingToken, token < 0 { throw .badRequest("'fencing_token' must not be negative") }
        try checkIdentifier(body.fenceKey, name: "fence_key", optional: true)
        return body
    }
}
