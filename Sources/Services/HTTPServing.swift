import BookingCore
import Foundation
import Hummingbird
import NIOCore

/// What the two services share: one route table per service, JSON for every answer (errors
/// included), 405 for a known path with the wrong method, a bounded request body.
enum HTTPServing {
    /// The largest request body read; the API's bodies are a few hundred bytes.
    static let maxBodyBytes = 64 * 1024

    /// The methods a route table may be asked with; each path answers 405 to those it lacks.
    static let knownMethods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .options]

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    struct Route: Sendable {
        let method: HTTPRequest.Method
        /// Hummingbird's pattern (`/api/rooms/:id`).
        let path: String
        let handler: Handler
    }

    static func router(_ routes: [Route]) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // First, so that it wraps every route and the not-found responder.
        router.add(middleware: JSONErrorMiddleware())
        var methodsByPath: [String: [HTTPRequest.Method]] = [:]
        var pathOrder: [String] = []
        for route in routes {
            router.on(RouterPath(route.path), method: route.method, use: route.handler)
            if methodsByPath[route.path] == nil { pathOrder.append(route.path) }
            methodsByPath[route.path, default: []].append(route.method)
        }
        for path in pathOrder {
            let allowed = methodsByPath[path]!
            let allowedNames = allowed.map(\.rawValue)
            for method in knownMethods where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw InputProblem.methodNotAllowed(method.rawValue, path: request.uri.path, allowed: allowedNames)
                }
            }
        }
        return router
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

    static func response(_ answer: APIResponse) -> Response {
        json(status: answer.status, WireFormat.encode(answer.body))
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
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as InputProblem {
            return HTTPServing.response(problem)
        } catch let error as HTTPError {
            let message = error.status == .notFound
                ? "no such endpoint: \(request.method.rawValue) \(request.uri.path); see openapi.yaml"
                : (error.body ?? error.status.reasonPhrase)
            return HTTPServing.response(InputProblem(status: error.status.code, message))
        } catch is NIOTooManyBytesError {
            return HTTPServing.response(InputProblem.tooLarge(limit: HTTPServing.maxBodyBytes))
        } catch {
            context.logger.error("unhandled error on \(request.method.rawValue) \(request.uri.path): \(error)")
            return HTTPServing.response(APIResponse.error(StatusCode.internalError, "internal error: \(error)"))
        }
    }
}
