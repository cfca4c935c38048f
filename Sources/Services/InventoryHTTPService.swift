import BookingCore
import Foundation
import Hummingbird

/// The inventory service (the seed's port 5001) over HTTP: each endpoint maps one-to-one onto an
/// `InventoryRequest`, and the `APIResponse` back onto status + JSON (see `WireFormat`).
///
/// | endpoint | request |
/// |---|---|
/// | `GET /api/health` | `.health` |
/// | `GET /api/rooms` | `.listRooms` |
/// | `GET /api/rooms/{id}` | `.room(id)` |
/// | `GET /api/rooms/{id}/availability?date=YYYY-MM-DD` | `.availability(id, date)` |
/// | `POST /api/rooms/{id}/reserve` `{"check_in","check_out","quantity"?,...}` | `.reserve(id, body)` |
/// | `POST /api/rooms/{id}/release` (same body) | `.release(id, body)` |
public struct InventoryHTTPService: Sendable {
    public let service: InventoryService

    public init(service: InventoryService) {
        self.service = service
    }

    public func router() -> Router<BasicRequestContext> {
        HTTPServing.router(routes)
    }

    var routes: [HTTPServing.Route] {
        [
            .init(method: .get, path: "/api/health") { _, context in
                Self.healthResponse(await service.handle(.health), in: context)
            },
            .init(method: .get, path: "/api/rooms") { _, context in
                HTTPServing.response(in: context, await service.handle(.listRooms))
            },
            .init(method: .get, path: "/api/rooms/:id") { _, context in
                let room = try InputParsing.roomID(context.parameters.get("id"))
                return HTTPServing.response(in: context, await service.handle(.room(room)))
            },
            .init(method: .get, path: "/api/rooms/:id/availability") { request, context in
                let room = try InputParsing.roomID(context.parameters.get("id"))
                let date = try InputParsing.date(request.uri.queryParameters.get("date"), name: "date")
                return HTTPServing.response(in: context, await service.handle(.availability(room, date)))
            },
            .init(method: .post, path: "/api/rooms/:id/reserve") { request, context in
                let room = try InputParsing.roomID(context.parameters.get("id"))
                let body = try InputParsing.reserve(try await HTTPServing.body(of: request), room: room)
                return HTTPServing.response(in: context, await service.handle(.reserve(room, body)))
            },
            .init(method: .post, path: "/api/rooms/:id/release") { request, context in
                let room = try InputParsing.roomID(context.parameters.get("id"))
                let body = try InputParsing.reserve(try await HTTPServing.body(of: request), room: room)
                return HTTPServing.response(in: context, await service.handle(.release(room, body)))
            },
        ]
    }

    /// The algorithm answers a failed health check with a plain error; the endpoint reports it
    /// per dependency, like the booking service's, so one client reads both the same way.
    static func healthResponse(_ answer: APIResponse, in context: some RequestContext) -> Response {
        guard case .error(let message) = answer.body else { return HTTPServing.response(in: context, answer) }
        let health = HealthBody(service: "inventory", status: HealthStatus.degraded, dependencies: ["inventory_db": message])
        return HTTPServing.response(in: context, APIResponse(status: StatusCode.serviceUnavailable, body: .health(health)))
    }
}
