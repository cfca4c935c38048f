import BookingCore
import Foundation
import Hummingbird

/// The booking service (the seed's port 5002) over HTTP: each endpoint maps one-to-one onto a
/// `BookingRequest`, and the `APIResponse` back onto status + JSON (see `WireFormat`).
///
/// | endpoint | request |
/// |---|---|
/// | `GET /api/health` | `.health` |
/// | `POST /api/bookings/confirm` `{"user_id","room_id","check_in","check_out","request_id"?}` | `.confirm(body)` |
/// | `GET /api/bookings/{id}` | `.booking(id)` |
/// | `GET /api/bookings/user/{user_id}` | `.userBookings(user)` |
/// | `GET /api/bookings` | `.allBookings` |
public struct BookingHTTPService<C: Clock<Duration>>: Sendable {
    public let service: BookingService<C>

    public init(service: BookingService<C>) {
        self.service = service
    }

    public func router() -> Router<BasicRequestContext> {
        HTTPServing.router(routes)
    }

    var routes: [HTTPServing.Route] {
        [
            .init(method: .get, path: "/api/health") { _, context in
                HTTPServing.response(in: context, await service.handle(.health))
            },
            .init(method: .post, path: "/api/bookings/confirm") { request, context in
                // Everything is checked before the algorithm runs: a refused request takes no
                // lock and writes no row.
                let body = try InputParsing.confirm(try await HTTPServing.body(of: request))
                return HTTPServing.response(in: context, await service.handle(.confirm(body)))
            },
            .init(method: .get, path: "/api/bookings") { _, context in
                HTTPServing.response(in: context, await service.handle(.allBookings))
            },
            .init(method: .get, path: "/api/bookings/:id") { _, context in
                let id = try InputParsing.bookingID(context.parameters.get("id"))
                return HTTPServing.response(in: context, await service.handle(.booking(id)))
            },
            .init(method: .get, path: "/api/bookings/user/:user_id") { _, context in
                // Path segments arrive percent-encoded; the client encodes ids that need it.
                let user = try InputParsing.userID(context.parameters.get("user_id").map { $0.removingPercentEncoding ?? $0 })
                return HTTPServing.response(in: context, await service.handle(.userBookings(user)))
            },
        ]
    }
}
