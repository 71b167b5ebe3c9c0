import HTTPTypes
import Hummingbird

/// `ControlAccess` in front of every route, the dashboard's files and the event stream
/// included, before any handler runs or any body is read: a refused request changes nothing.
struct ControlAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: ControlAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let refusal = access.refusal(
            method: request.method, path: request.uri.path, host: request.head.authority,
            origin: request.headers[.origin], contentType: request.headers[.contentType],
            authorization: request.headers[.authorization])
        else {
            return try await next(request, context)
        }
        var response = JSONResponse.make(["error": refusal.message], status: refusal.status)
        if case .unauthorized = refusal { response.headers[.wwwAuthenticate] = #"Bearer realm="kv-launcher""# }
        return response
    }
}
