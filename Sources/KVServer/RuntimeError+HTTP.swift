import NodeRuntime

extension RuntimeError {
    /// The one place a runtime failure becomes an HTTP status (Docs/API.md, "Errors").
    var httpStatus: Int {
        switch self {
        // A request that reaches this node's routes and must be made on the leader is
        // redirected by the route itself when the leader is known; otherwise retry later.
        case .notLeader, .unavailable, .timedOut, .shuttingDown: 503
        case .storageFull: 507
        case .badRequest: 400
        case .conflict: 409
        case .unprocessable: 422
        case .notFound: 404
        case .compacted: 410
        case .internalError: 500
        }
    }
}
