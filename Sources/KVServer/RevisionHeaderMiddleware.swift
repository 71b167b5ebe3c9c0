import HTTPTypes
import Hummingbird
import KVStore

/// `X-KV-Revision: <store revision>` on every answer of the routes (Docs/API.md,
/// "Revisions"); `KVFastPathHandler` writes the same header on its own answers. Read after
/// the handler ran, so it is at least the revision the answer reflects. One atomic load. A
/// handler that streams a copy of the state (`GET /snapshot`, `GET /export`) sets the header
/// itself, to the revision of that copy, and it is left as it is.
struct RevisionHeaderMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let store: DurableStore

    static let name = HTTPField.Name("X-KV-Revision")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let name = Self.name, response.headers[name] == nil {
            response.headers[name] = String(store.stateMachine.revision)
        }
        return response
    }
}
