import HTTPTypes
import Hummingbird
import NodeRuntime

/// `X-KV-Revision: <store revision>` on every answer of the routes (Docs/API.md,
/// "Revisions"); `KVFastPathService` writes the same header on the fast paths' answers. Read
/// after the handler ran, so it is at least the revision the answer reflects, a write
/// answered at commit included (`NodeRuntime.answerRevision`). A
/// handler that streams a copy of the state (`GET /snapshot`, `GET /export`) sets the header
/// itself, to the revision of that copy, and it is left as it is.
struct RevisionHeaderMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let runtime: NodeRuntime

    static let name = HTTPField.Name("X-KV-Revision")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let name = Self.name, response.headers[name] == nil {
            response.headers[name] = String(runtime.answerRevision())
        }
        return response
    }
}
