import Hummingbird

/// `ClientAccess` in front of every Hummingbird route; only installed with `--auth-file`.
/// It runs before a body is read, so a refused request costs no more than its head.
struct ClientAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let authenticator: ClientAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let action = ClientAccess.action(method: request.method, path: request.uri.path[...],
                                         listPrefix: request.uri.queryParameters["prefix"].map(String.init),
                                         watchKey: request.uri.queryParameters["key"].map(String.init))
        if action == .open { return try await next(request, context) }
        let credentials = await authenticator.credentials(authorization: request.headers[.authorization])
        if let failure = ClientAccess.refusal(credentials, for: action) { return failure.response }
        guard case .identity(let identity) = credentials else { return try await next(request, context) }
        return try await ClientContext.$identity.withValue(identity) { try await next(request, context) }
    }
}
