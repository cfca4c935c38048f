import Backends
import BookingCore
import Foundation
import Hummingbird
import NIOCore

/// What the two services share: one route table per service, JSON for every answer (errors
/// included), 405 for a known path with the wrong method, a bounded request body.
enum HTTPServing {
    /// The largest request body read; the API's bodies are a few hundred bytes.
    static let maxBodyBytes = 64 * 1024

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    struct Route: Sendable {
        let method: HTTPRequest.Method
        /// Hummingbird's pattern (`/api/rooms/:id`).
        let path: String
        let handler: Handler
    }

    /// A route table's path and the methods it serves: any other method on it (`TRACE`, `HEAD`,
    /// `PUT`, ...) is answered 405 with `Allow`. A method HTTP itself does not define never gets
    /// here: SwiftNIO's parser answers it 400.
    struct PathMethods: Sendable {
        let segments: [Substring]
        var allowed: [String]

        init(path: String, allowed: [String]) {
            segments = path.split(separator: "/")
            self.allowed = allowed
        }

        /// `:name` segments match any one segment.
        func matches(_ path: String) -> Bool {
            let parts = path.split(separator: "/")
            return parts.count == segments.count && zip(segments, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }

    /// `faultControl`: each request runs with `FaultOrigin.label` from its header and is
    /// counted in flight while it is served (a fault-controlled service only).
    /// `workers`: requests are served as sync workers would serve them (`SyncWorkers`).
    /// `timings`: every request is timed (`TimingMiddleware`) and the timings are served.
    static func router(_ routes: [Route], faultControl: ControlledFaultPoints? = nil, workers: SyncWorkers? = nil,
                       timings: TimingRecorder? = nil) -> Router<BasicRequestContext> {
        let routes = routes + (timings.map(TimingHTTP.routes) ?? [])
        var paths: [PathMethods] = []
        for route in routes {
            if let index = paths.firstIndex(where: { $0.segments == route.path.split(separator: "/") }) {
                paths[index].allowed.append(route.method.rawValue)
            } else {
                paths.append(PathMethods(path: route.path, allowed: [route.method.rawValue]))
            }
        }
        let router = Router(context: BasicRequestContext.self)
        // First: a middleware wraps only the routes added after it, and the not-found responder.
        router.add(middleware: JSONErrorMiddleware(paths: paths))
        if let faultControl { router.add(middleware: FaultOriginMiddleware(points: faultControl)) }
        if let timings { router.add(middleware: TimingMiddleware(recorder: timings)) }
        if let workers { router.add(middleware: SyncWorkersMiddleware(workers: workers)) }
        for route in routes {
            router.on(RouterPath(route.path), method: route.method, use: route.handler)
        }
        return router
    }

    /// A service's root below which the driver's `/_overbook` routes sit: its URL without a
    /// trailing `/` or `/api` (`http://127.0.0.1:5001/api` -> `http://127.0.0.1:5001`).
    static func serviceRoot(_ url: String) -> String {
        var root = url
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/api") { root.removeLast(4) }
        return root
    }

    /// The request body, at most `maxBodyBytes`.
    static func body(of request: Request) async throws(InputProblem) -> Data {
        do {
            let buffer = try await request.body.collect(upTo: maxBodyBytes)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw .tooLarge(limit: maxBodyBytes)
        } catch {
            throw .badRequest("could not read the request body: \(error)")
        }
    }

    /// The answer as the client sees it. A `5xx` names the dependency that failed and the
    /// request id, never the failure itself: database and Redis errors can quote values, table
    /// names and hosts, so their text goes to this service's log under the request id instead.
    static func response(in context: some RequestContext, _ answer: APIResponse) -> Response {
        json(status: answer.status, WireFormat.encode(publicBody(of: answer, in: context)))
    }

    static func publicBody(of answer: APIResponse, in context: some RequestContext) -> BookingCore.ResponseBody {
        guard answer.status >= 500 else { return answer.body }
        switch answer.body {
        case .error(let message), .outcomeUnknown(let message):
            // Messages of our own are sentences; a dependency's error follows its name and ": ".
            guard let cut = message.range(of: ": ") else { return answer.body }
            context.logger.error("answered \(answer.status): \(message)")
            let told = "\(message[..<cut.lowerBound]): failed; the service log has the details under request id \(context.id)"
            return answer.saysOutcomeUnknown
                ? .outcomeUnknown(told + "; whether the request took effect is unknown, send it again with the same request id")
                : .error(told)
        case .health(var health):
            for (name, state) in health.dependencies.sorted(by: { $0.key < $1.key }) where state != "ok" {
                context.logger.error("health: \(name): \(state)")
                health.dependencies[name] = "unavailable (request id \(context.id))"
            }
            return .health(health)
        default:
            return answer.body
        }
    }

    static func response(_ problem: InputProblem) -> Response {
        var response = json(status: problem.status, WireFormat.encode(.error(problem.message)))
        if !problem.allowed.isEmpty {
            response.headers[.allow] = problem.allowed.joined(separator: ", ")
        }
        return response
    }

    static func json(status: Int, _ data: Data) -> Response {
        Response(status: httpStatus(status),
                 headers: [.contentType: WireFormat.contentType],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func httpStatus(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 200: .ok
        case 201: .created
        case 400: .badRequest
        case 404: .notFound
        case 405: .methodNotAllowed
        case 409: .conflict
        case 413: .contentTooLarge
        case 500: .internalServerError
        case 503: .serviceUnavailable
        default: HTTPResponse.Status(code: code)
        }
    }
}

/// Turns whatever a handler or the router throws into a JSON error, so no client ever gets an
/// empty or HTML body: input problems keep their 4xx, an unknown path is a JSON 404, anything
/// unforeseen is a JSON 500 (and logged, since it is a bug).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let paths: [HTTPServing.PathMethods]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as InputProblem {
            return HTTPServing.response(problem)
        } catch let error as HTTPError where error.status == .notFound {
            if let path = paths.first(where: { $0.matches(request.uri.path) }) {
                return HTTPServing.response(InputProblem.methodNotAllowed(request.method.rawValue, path: request.uri.path, allowed: path.allowed))
            }
            return HTTPServing.response(InputProblem(status: 404, "no such endpoint: \(request.method.rawValue) \(request.uri.path); see openapi.yaml"))
        } catch let error as HTTPError {
            let message = error.status == .notFound
                ? "no such endpoint: \(request.method.rawValue) \(request.uri.path); see openapi.yaml"
                : (error.body ?? error.status.reasonPhrase)
            return HTTPServing.response(InputProblem(status: error.status.code, message))
        } catch is NIOTooManyBytesError {
            return HTTPServing.response(InputProblem.tooLarge(limit: HTTPServing.maxBodyBytes))
        } catch {
            context.logger.error("unhandled error on \(request.method.rawValue) \(request.uri.path): \(error)")
            return HTTPServing.response(in: context, APIResponse.error(StatusCode.internalError, "internal error: \(error)"))
        }
    }
}
