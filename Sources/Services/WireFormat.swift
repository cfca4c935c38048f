import BookingCore
import Foundation

/// The JSON the two services speak, in the seed's shapes (snake_case keys, `success` flag):
///
/// | `ResponseBody` case | JSON |
/// |---|---|
/// | `.booking(b)` | `{"success": true, "booking": {...}}` |
/// | `.bookings(list)` | `{"success": true, "bookings": [...], "count": n}` |
/// | `.room(r)` | `{"success": true, "room": {"id", "name", "total_quantity"}}` |
/// | `.rooms(list)` | `{"success": true, "rooms": [...], "count": n}` |
/// | `.availability(a)` | `{"success": true, "room_id", "date", "available_quantity", "available"}` |
/// | `.inventoryChanged(room, nights)` | `{"success": true, "room_id": 1, "nights": ["2026-03-15", ...]}` |
/// | `.health(h)` | `{"success": bool, "service", "status", "dependencies": {name: "ok" or why not}}` |
/// | `.error(message)` | `{"success": false, "error": message}` |
/// | `.outcomeUnknown(message)` | `{"success": false, "error": message, "outcome": "unknown"}` |
///
/// Keys are sorted so that equal answers are equal bytes (diffable logs, stable tests).
public enum WireFormat {
    public static let contentType = "application/json"

    /// The encoder every service and client uses: sorted keys, `/` left as is.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func encode(_ body: ResponseBody) -> Data {
        encode(Envelope(body: body))
    }

    /// Encodes a value the services own; these types cannot fail to encode (no floats, no
    /// custom throwing encoders), so a failure is a programming error worth crashing on.
    static func encode(_ value: some Encodable) -> Data {
        do {
            return try makeEncoder().encode(value)
        } catch {
            preconditionFailure("encoding \(type(of: value)) failed: \(error)")
        }
    }

    /// The `ResponseBody` as its JSON object.
    struct Envelope: Encodable {
        let body: ResponseBody

        enum Key: String, CodingKey {
            case success, error, outcome, booking, bookings, count, room, rooms, nights, service, status, dependencies
            case roomID = "room_id"
        }

        func encode(to encoder: any Encoder) throws {
            switch body {
            case .availability(let availability):
                // Flat, as the seed answers availability: the body's own keys plus `success`.
                try availability.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(true, forKey: .success)
                return
            default:
                break
            }
            var container = encoder.container(keyedBy: Key.self)
            switch body {
            case .booking(let booking):
                try container.encode(true, forKey: .success)
                try container.encode(booking, forKey: .booking)
            case .bookings(let bookings):
                try container.encode(true, forKey: .success)
                try container.encode(bookings, forKey: .bookings)
                try container.encode(bookings.count, forKey: .count)
            case .room(let room):
                try container.encode(true, forKey: .success)
                try container.encode(room, forKey: .room)
            case .rooms(let rooms):
                try container.encode(true, forKey: .success)
                try container.encode(rooms, forKey: .rooms)
                try container.encode(rooms.count, forKey: .count)
            case .inventoryChanged(let room, let nights):
                try container.encode(true, forKey: .success)
                try container.encode(room, forKey: .roomID)
                try container.encode(nights, forKey: .nights)
            case .health(let health):
                try container.encode(health.status == HealthStatus.healthy, forKey: .success)
                try container.encode(health.service, forKey: .service)
                try container.encode(health.status, forKey: .status)
                try container.encode(health.dependencies, forKey: .dependencies)
            case .error(let message):
                try container.encode(false, forKey: .success)
                try container.encode(message, forKey: .error)
            case .outcomeUnknown(let message):
                try container.encode(false, forKey: .success)
                try container.encode(message, forKey: .error)
                try container.encode(unknownOutcome, forKey: .outcome)
            case .availability:
                break
            }
        }
    }

    // MARK: Reading answers (the client side)

    /// What a successful answer's body holds, which the caller knows from what it asked.
    public enum Expected: Sendable {
        case booking, bookings, room, rooms, availability, inventoryChanged, health
    }

    /// `"outcome"` of an answer that does not know whether its request took effect.
    static let unknownOutcome = "unknown"

    /// Reads an answer back into an `APIResponse`. A non-2xx answer is an `.error` with the
    /// server's message, or `.outcomeUnknown` when it says so (health answers keep their
    /// dependency report whatever the status).
    public static func decode(status: Int, body: Data, expecting expected: Expected) throws(NetworkError) -> APIResponse {
        let decoder = JSONDecoder()
        do {
            if expected == .health, let health = try? decoder.decode(HealthBody.self, from: body) {
                return APIResponse(status: status, body: .health(health))
            }
            guard (200..<300).contains(status) else {
                let error = try? decoder.decode(ErrorReply.self, from: body)
                let message = error?.error ?? "HTTP \(status) without a JSON error body"
                return APIResponse(status: status, body: error?.outcome == unknownOutcome ? .outcomeUnknown(message) : .error(message))
            }
            let responseBody: ResponseBody
            switch expected {
            case .booking: responseBody = .booking(try decoder.decode(BookingReply.self, from: body).booking)
            case .bookings: responseBody = .bookings(try decoder.decode(BookingsReply.self, from: body).bookings)
            case .room: responseBody = .room(try decoder.decode(RoomReply.self, from: body).room)
            case .rooms: responseBody = .rooms(try decoder.decode(RoomsReply.self, from: body).rooms)
            case .availability: responseBody = .availability(try decoder.decode(AvailabilityBody.self, from: body))
            case .inventoryChanged:
                let changed = try decoder.decode(InventoryChangedReply.self, from: body)
                responseBody = .inventoryChanged(room: changed.roomID, nights: changed.nights)
            case .health: responseBody = .health(try decoder.decode(HealthBody.self, from: body))
            }
            return APIResponse(status: status, body: responseBody)
        } catch {
            let preview = String(decoding: body.prefix(200), as: UTF8.self)
            throw .malformedResponse("HTTP \(status) body is not the expected \(expected) JSON (\(InputProblem.describe(error))): \(preview)")
        }
    }

    struct ErrorReply: Decodable {
        let error: String
        let outcome: String?
    }
    struct BookingReply: Decodable { let booking: Booking }
    struct BookingsReply: Decodable { let bookings: [Booking] }
    struct RoomReply: Decodable { let room: Room }
    struct RoomsReply: Decodable { let rooms: [Room] }
    struct InventoryChangedReply: Decodable {
        let roomID: RoomID
        let nights: [Night]
        enum CodingKeys: String, CodingKey {
            case roomID = "room_id"
            case nights
        }
    }
}

/// The `status` values of a health answer.
public enum HealthStatus {
    public static let healthy = "healthy"
    public static let degraded = "degraded"
}

/// `POST /api/rooms/{id}/reserve` and `/release` as clients send them. Unlike `ReserveBody`'s
/// own decoding, `quantity` may be left out (1), so a hand-written request needs only the dates.
struct ReserveWireBody: Decodable {
    let checkIn: Night
    let checkOut: Night
    let quantity: Int?
    let requestID: RequestID?
    let fencingToken: Int?
    let fenceKey: String?

    typealias CodingKeys = ReserveBody.CodingKeys

    var body: ReserveBody {
        ReserveBody(checkIn: checkIn, checkOut: checkOut, quantity: quantity ?? 1, requestID: requestID,
                    fencingToken: fencingToken, fenceKey: fenceKey)
    }
}
