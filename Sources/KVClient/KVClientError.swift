/// Everything a call of ``KVClient`` can fail with.
///
/// The common answers of the node API have cases of their own, so a caller can `switch` on
/// what happened (a failed condition, a compacted revision) instead of comparing status codes;
/// every other refusal is ``server(status:message:)``. The message of a server refusal is the
/// server's own `error` text, kept so that a tool can show it unchanged.
public enum KVClientError: Error, Sendable, CustomStringConvertible {
    /// No endpoint answered: every one tried failed to connect, or lost the connection before
    /// an answer, until the retry budget ran out. `underlying` is the last transport error.
    case unreachable(endpoints: [String], underlying: any Error)
    /// A request that cannot be repeated safely (no `Idempotency-Key`: a lease grant, a
    /// compaction, an import, a membership change) was sent, but its answer was lost or came
    /// too late. It may or may not have been applied, so the client did not send it again.
    case answerLost(endpoint: String, underlying: any Error)
    /// The client could not renew the lease before its TTL ran out on the client's clock, so
    /// whatever the lease guards (a lock, a leadership) must be taken as gone.
    case leaseLost(id: UInt64, reason: String)
    /// 400: the request was malformed (the server says what to fix).
    case badRequest(String)
    /// 401: no credentials, or credentials the server does not accept.
    case unauthorized(String)
    /// 403: the credentials lack the permission, or the request was refused as cross-site.
    case forbidden(String)
    /// 404: no such key, lease or member.
    case notFound(String)
    /// 409: a conflicting membership change, a lagging transfer target, or an
    /// `Idempotency-Key` whose answer is no longer kept (the first attempt did apply).
    case conflict(String)
    /// 410: the revision asked for lies at or below the compacted history.
    case compacted(compactRevision: UInt64)
    /// 412: a conditional write found the key at another revision (0: the key does not exist).
    case preconditionFailed(key: String, currentRevision: UInt64)
    /// 422: an `Idempotency-Key` reused for a different request.
    case idempotencyKeyReused(String)
    /// 503 on every endpoint until the retry budget ran out: no leader or no quorum.
    case unavailable(String)
    /// Any other refusal, with the HTTP status and the server's message.
    case server(status: Int, message: String)
    /// The server answered something that is not what the API promises.
    case invalidResponse(String)
    /// The caller asked for something the client can tell is wrong before sending it.
    case invalidArgument(String)
    /// A local file could not be read or written (a snapshot or export target).
    case file(path: String, reason: String)

    /// The HTTP status behind a server refusal; nil for errors that never reached a server's answer.
    public var status: Int? {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .compacted: 410
        case .preconditionFailed: 412
        case .idempotencyKeyReused: 422
        case .unavailable: 503
        case .server(let status, _): status
        case .unreachable, .answerLost, .leaseLost, .invalidResponse, .invalidArgument, .file: nil
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let endpoints, let underlying):
            "no endpoint answered (tried \(endpoints.joined(separator: ", "))): \(underlying)"
        case .answerLost(let endpoint, let underlying):
            "the answer from \(endpoint) was lost (\(underlying)); the request may have been applied and was not repeated"
        case .leaseLost(let id, let reason):
            "lease \(id) lost: \(reason)"
        case .badRequest(let message), .unauthorized(let message), .forbidden(let message), .notFound(let message),
             .conflict(let message), .idempotencyKeyReused(let message), .unavailable(let message):
            message
        case .compacted(let compactRevision):
            "compacted: history at and below revision \(compactRevision) is gone"
        case .preconditionFailed(let key, let currentRevision):
            "revision mismatch (key \(key) is at revision \(currentRevision))"
        case .server(let status, let message):
            "\(message) (HTTP \(status))"
        case .invalidResponse(let message):
            "unexpected answer: \(message)"
        case .invalidArgument(let message):
            message
        case .file(let path, let reason):
            "\(path): \(reason)"
        }
    }
}
