import AsyncHTTPClient
import Backends
import BookingCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `overbook serve --record-timings`: the service times its own traffic for `overbook
/// calibrate` and serves what it measured at `GET /_overbook/timings` (`DELETE` hands it over
/// and starts afresh). Each answer carries `Server-Timing: total;dur=<ms>` (its time in this
/// service, queueing included), so the caller can tell the network's share of a round trip
/// from the service's. A plain `overbook serve` records nothing and has no such route.
enum TimingHTTP {
    static let root = "/_overbook/timings"
    static let serverTimingHeader = "Server-Timing"

    static func routes(_ recorder: TimingRecorder) -> [HTTPServing.Route] {
        [
            .init(method: .get, path: root) { _, _ in json(recorder.snapshot()) },
            .init(method: .delete, path: root) { _, _ in json(recorder.snapshot(reset: true)) },
        ]
    }

    static func json(_ samples: TimingSamples) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return HTTPServing.json(status: StatusCode.ok, (try? encoder.encode(samples)) ?? Data("{}".utf8))
    }

    /// `total;dur=1.234` (milliseconds, as the header's syntax has it).
    static func headerValue(_ total: Duration) -> String {
        let micros = total.nanoseconds / 1_000
        return "total;dur=\(micros / 1_000).\(String(micros % 1_000).leftPadded(to: 3))"
    }

    /// The `total` metric of a `Server-Timing` header, if it has one.
    static func total(inHeader value: String) -> Duration? {
        for metric in value.split(separator: ",") {
            let parts = metric.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first == "total" else { continue }
            for parameter in parts.dropFirst() where parameter.hasPrefix("dur=") {
                guard let milliseconds = Double(parameter.dropFirst(4)), milliseconds >= 0, milliseconds < 1e9 else { return nil }
                return .nanoseconds(Int64(milliseconds * 1_000_000))
            }
        }
        return nil
    }
}

/// Times every API request (not the driver's own `/_overbook` routes, not health polls): its
/// time here goes out in `Server-Timing`, and its time less every wait on something else (see
/// `RequestTimer`) is recorded as its handling time. Outside the sync workers' middleware, so
/// a request's queueing for a worker is part of its total and one of its waits.
struct TimingMiddleware<Context: RequestContext>: RouterMiddleware {
    let recorder: TimingRecorder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard !path.hasPrefix("/_overbook/"), path != "/api/health" else { return try await next(request, context) }
        let start = ContinuousClock.now
        let timer = RequestTimer()
        var response = try await RequestTimer.$current.withValue(timer) { try await next(request, context) }
        let total = ContinuousClock.now - start
        recorder.recordHandling(max(.zero, total - timer.waited))
        if let name = HTTPField.Name(TimingHTTP.serverTimingHeader) {
            response.headers[name] = TimingHTTP.headerValue(total)
        }
        return response
    }
}

/// The wall clock, whose sleeps (the lock's back-off) count as the current request's waits.
public struct SleepRecordingClock: Clock {
    public typealias Instant = ContinuousClock.Instant
    private let base = ContinuousClock()

    public init() {}

    public var now: Instant { base.now }
    public var minimumResolution: Duration { base.minimumResolution }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let start = base.now
        defer { RequestTimer.current?.addWait(base.now - start) }
        try await base.sleep(until: deadline, tolerance: tolerance)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The driver's side of `/_overbook/timings`: reads (and clears) what one service recorded.
public struct TimingClient: Sendable {
    /// The service's root, e.g. `http://127.0.0.1:5001` (an `/api` suffix is dropped).
    public let serviceURL: String
    let client: HTTPClient

    public init(serviceURL: String, client: HTTPClient) {
        self.serviceURL = HTTPServing.serviceRoot(serviceURL)
        self.client = client
    }

    /// What the service recorded so far; `reset` clears it for the next round.
    public func samples(reset: Bool = false) async throws -> TimingSamples {
        var request = HTTPClientRequest(url: serviceURL + TimingHTTP.root)
        request.method = reset ? .DELETE : .GET
        let response = try await client.execute(request, timeout: .seconds(10))
        let data = Data((try await response.body.collect(upTo: 256 << 20)).readableBytesView)
        guard response.status == .ok else {
            throw TimingClientError(description: "\(serviceURL)\(TimingHTTP.root) answered \(response.status.code); was the service started with --record-timings?")
        }
        do {
            return try JSONDecoder().decode(TimingSamples.self, from: data)
        } catch {
            throw TimingClientError(description: "\(serviceURL)\(TimingHTTP.root) answered what is not a timing record: \(error)")
        }
    }
}

public struct TimingClientError: Error, CustomStringConvertible {
    public let description: String
}
