import Hummingbird

/// `CrossSiteRule` in front of every Hummingbird route, so the admin endpoints
/// (`/cluster/join`, `/cluster/remove`) and any added later are covered without each
/// handler remembering to ask. It runs before a body is read: a refused request changes
/// nothing and costs nothing more.
struct CrossSiteMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let rule: CrossSiteRule

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requirement = CrossSiteRule.requirement(of: request.method)
        if let failure = rule.refusal(requirement, contentType: request.headers[.contentType],
                                      origin: request.headers[.origin], host: request.head.authority) {
            return failure.response
        }
        return try await next(request, context)
    }
}
