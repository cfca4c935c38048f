import AsyncHTTPClient
import Foundation
import NIOCore

/// What `overbook health` asks: a service's `GET /api/health`, as a container's HEALTHCHECK or
/// a compose `healthcheck:` does (the runtime image has no curl).
public enum HealthProbe {
    /// Nil when `url` answered 200 within `timeout`; otherwise what went wrong, in words.
    public static func problem(url: String, timeout: Duration) async -> String? {
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .init(timeout))))
        let problem: String?
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await client.execute(request, timeout: .init(timeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            problem = response.status.code == 200
                ? nil : "\(url) answered \(response.status.code): \(String(buffer: body).prefix(200))"
        } catch {
            problem = "\(url) did not answer: \(error)"
        }
        try? await client.shutdown()
        return problem
    }
}
