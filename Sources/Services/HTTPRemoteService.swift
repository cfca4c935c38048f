import AsyncHTTPClient
import Backends
import BookingCore
import Foundation
import NIOCore
import NIOHTTP1

/// A request type the HTTP adapter knows how to send: method, path below the service's base
/// URL, JSON body, and what a successful answer holds.
public protocol HTTPMappedRequest: Sendable {
    var httpMethod: HTTPMethod { get }
    /// Below the base URL (`http://127.0.0.1:5001/api`), starting with `/`, query included.
    var httpPath: String { get }
    var httpBody: Data? { get }
    var expectedAnswer: WireFormat.Expected { get }
}

/// The network abstraction in real mode: one `RemoteService` call is one HTTP request over a
/// shared AsyncHTTPClient connection pool.
///
/// Errors map onto `NetworkError` as the simulator's network reports them: no connection →
/// `.unreachable`; no answer within `timeout` → `.timeout` (the request may have been
/// processed); an answer that is not the API's JSON → `.malformedResponse`. An HTTP error
/// status is not a network error: it comes back as an `APIResponse` with the server's message.
public struct HTTPRemoteService<Request: HTTPMappedRequest>: RemoteService {
    public let baseURL: String
    let client: HTTPClient
    /// Times every call (`overbook serve --record-timings`, `overbook calibrate`); the far
    /// side's `Server-Timing` total is taken out of the hop's share.
    let timer: HopTimer?

    /// - Parameters:
    ///   - baseURL: the service's API root, e.g. `http://127.0.0.1:5001/api`.
    ///   - client: shared by every call; its owner shuts it down.
    ///   - timer: records each call's round trip, if set.
    public init(baseURL: String, client: HTTPClient, timer: HopTimer? = nil) throws(ServiceConfigurationError) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ServiceConfigurationError("'\(baseURL)' is not an HTTP URL; use e.g. http://127.0.0.1:5001/api")
        }
        self.baseURL = base
        self.client = client
        self.timer = timer
    }

    public func call(_ request: Request, timeout: Duration) async throws(NetworkError) -> APIResponse {
        var http = HTTPClientRequest(url: baseURL + request.httpPath)
        http.method = request.httpMethod
        if let origin = FaultOrigin.label { http.headers.add(name: FaultOrigin.header, value: origin) }
        if let body = request.httpBody {
            http.headers.add(name: "Content-Type", value: WireFormat.contentType)
            http.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let body: ByteBuffer
        let start = ContinuousClock.now
        do {
            let deadline = NIODeadline.now() + TimeAmount(timeout)
            let response = try await client.execute(http, deadline: deadline)
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: Self.maxResponseBytes)
            if let timer {
                let serverTime = response.headers.first(name: TimingHTTP.serverTimingHeader).flatMap(TimingHTTP.total(inHeader:))
                timer.record(roundTrip: ContinuousClock.now - start, serverTime: serverTime ?? .zero)
            }
        } catch {
            if timer != nil { RequestTimer.current?.addWait(ContinuousClock.now - start) }
            throw Self.networkError(error, url: baseURL)
        }
        return try WireFormat.decode(status: status, body: Data(body.readableBytesView), expecting: request.expectedAnswer)
    }

    /// Listing every booking can be long; anything past this is not an answer of this API.
    static var maxResponseBytes: Int { 64 * 1024 * 1024 }

    static func networkError(_ error: any Error, url: String) -> NetworkError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .timeout
            case .connectTimeout:
                return .unreachable("\(url) (connect timeout)")
            default:
                return .unreachable("\(url) (\(error))")
            }
        }
        if error is NIOTooManyBytesError {
            return .malformedResponse("answer from \(url) larger than \(maxResponseBytes) bytes")
        }
        if error is CancellationError {
            return .unreachable("\(url) (call cancelled)")
        }
        return .unreachable("\(url) (\(error))")
    }
}

/// How the booking service reaches the inventory: the seed's inventory endpoints.
extension InventoryRequest: HTTPMappedRequest {
    public var httpMethod: HTTPMethod {
        switch self {
        case .health, .listRooms, .room, .availability: .GET
        case .reserve, .release: .POST
        }
    }

    public var httpPath: String {
        switch self {
        case .health: "/health"
        case .listRooms: "/rooms"
        case .room(let id): "/rooms/\(id)"
        case .availability(let id, let night): "/rooms/\(id)/availability?date=\(night)"
        case .reserve(let id, _): "/rooms/\(id)/reserve"
        case .release(let id, _): "/rooms/\(id)/release"
        }
    }

    public var httpBody: Data? {
        switch self {
        case .reserve(_, let body), .release(_, let body): WireFormat.encode(body)
        case .health, .listRooms, .room, .availability: nil
        }
    }

    public var expectedAnswer: WireFormat.Expected {
        switch self {
        case .health: .health
        case .listRooms: .rooms
        case .room: .room
        case .availability: .availability
        case .reserve, .release: .inventoryChanged
        }
    }
}

/// How clients (the load driver, `overbook real`, tests) reach the booking service.
extension BookingRequest: HTTPMappedRequest {
    public var httpMethod: HTTPMethod {
        switch self {
        case .confirm: .POST
        case .health, .booking, .userBookings, .allBookings: .GET
        }
    }

    public var httpPath: String {
        switch self {
        case .health: "/health"
        case .confirm: "/bookings/confirm"
        case .booking(let id): "/bookings/\(id)"
        case .userBookings(let user): "/bookings/user/\(Self.pathSegment(user.rawValue))"
        case .allBookings: "/bookings"
        }
    }

    public var httpBody: Data? {
        if case .confirm(let body) = self { return WireFormat.encode(body) }
        return nil
    }

    public var expectedAnswer: WireFormat.Expected {
        switch self {
        case .health: .health
        case .confirm, .booking: .booking
        case .userBookings, .allBookings: .bookings
        }
    }

    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
