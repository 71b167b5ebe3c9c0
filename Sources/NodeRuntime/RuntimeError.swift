import KVStore
import RaftCore

/// Why the runtime could not serve a request. Each case maps to one HTTP answer, so the
/// API layer never has to guess.
public enum RuntimeError: Error, Sendable, Equatable {
    /// No leader is known, or the leader did not answer in time: retry shortly (503).
    case unavailable(String)
    /// The request's outcome is unknown: it timed out after being proposed (503). A retry
    /// with the same Idempotency-Key is safe.
    case timedOut
    /// The node's disk is full (507).
    case storageFull
    /// The request is invalid (400).
    case badRequest(String)
    /// The request conflicts with the cluster's state (409).
    case conflict(String)
    /// The request is well formed but contradicts an earlier one, such as an
    /// Idempotency-Key reused for a different request (422).
    case unprocessable(String)
    /// Nothing by that name (404).
    case notFound(String)
    /// The node is shutting down (503).
    case shuttingDown
    /// An unexpected fault (500).
    case internalError(String)

    public var httpStatus: Int {
        switch self {
        case .unavailable, .timedOut, .shuttingDown: 503
        case .storageFull: 507
        case .badRequest: 400
        case .conflict: 409
        case .unprocessable: 422
        case .notFound: 404
        case .internalError: 500
        }
    }

    public var message: String {
        switch self {
        case .unavailable(let why): why
        case .timedOut: "the request timed out before it was applied; retry with the same Idempotency-Key to be safe"
        case .storageFull: "the node's storage is full"
        case .badRequest(let why), .conflict(let why), .unprocessable(let why), .notFound(let why), .internalError(let why): why
        case .shuttingDown: "the node is shutting down"
        }
    }

    public init(_ error: KVStoreError) {
        switch error.httpStatus {
        case 400: self = .badRequest("\(error)")
        case 507: self = .storageFull
        case 503: self = .unavailable("storage is overloaded: \(error)")
        default: self = .internalError("storage: \(error)")
        }
    }

    init(_ error: RaftError) {
        switch error {
        case .notLeader(let leader):
            self = .unavailable(leader.map { "leader \($0) is not reachable" } ?? "no leader is known")
        case .transferInProgress: self = .unavailable("leadership is being transferred")
        case .backpressure: self = .unavailable("too many writes are in flight")
        case .configChangeInProgress: self = .conflict("another membership change is in progress")
        case .invalidConfChange(let why): self = .conflict(why)
        case .unknownTransferTarget: self = .badRequest("the transfer target is not a voter")
        case .removed: self = .conflict("this node was removed from the cluster")
        }
    }
}
