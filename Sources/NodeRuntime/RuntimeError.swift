import KVStore
import RaftCore

/// Why the runtime could not serve a request. The cases say what happened, not how a
/// front end answers it: KVServer maps each one to an HTTP status in one place.
public enum RuntimeError: Error, Sendable, Equatable {
    /// This node does not lead, and the request must be made on the leader (a membership
    /// change, or a forwarded write that reached a node that lost leadership). Carries the
    /// leader as this node knows it, if it knows one.
    case notLeader(leader: NodeID?, address: MemberAddress?)
    /// No leader is known, or the leader did not answer in time: retry shortly.
    case unavailable(String)
    /// The request's outcome is unknown: it timed out after being proposed. A retry with the
    /// same Idempotency-Key is safe.
    case timedOut
    /// The node's disk is full.
    case storageFull
    /// The request is invalid.
    case badRequest(String)
    /// The request conflicts with the cluster's state.
    case conflict(String)
    /// The request is well formed but contradicts an earlier one, such as an
    /// Idempotency-Key reused for a different request.
    case unprocessable(String)
    /// Nothing by that name.
    case notFound(String)
    /// The revision asked for is older than the retained history, which now starts after
    /// `compactRevision`.
    case compacted(compactRevision: UInt64)
    /// The node is shutting down.
    case shuttingDown
    /// An unexpected fault.
    case internalError(String)

    /// What went wrong, in words for a client or an operator.
    public var message: String {
        switch self {
        case .notLeader(let leader, _):
            leader.map { "this node is not the leader; the leader is \($0)" } ?? "this node is not the leader and knows no leader"
        case .unavailable(let why): why
        case .timedOut: "the request timed out before it was applied; retry with the same Idempotency-Key to be safe"
        case .storageFull: "the node's storage is full"
        case .badRequest(let why), .conflict(let why), .unprocessable(let why), .notFound(let why), .internalError(let why): why
        case .shuttingDown: "the node is shutting down"
        case .compacted: "compacted"
        }
    }

    public init(_ error: KVStoreError) {
        switch error {
        case .keyTooLarge, .invalidKey, .invalidCommand: self = .badRequest("\(error)")
        case .storageFull: self = .storageFull
        case .leaseNotFound(let id): self = .notFound("lease not found: \(id)")
        case .compacted(let revision): self = .compacted(compactRevision: revision)
        case .futureRevision(let requested, let current):
            self = .badRequest("revision \(requested) is in the future; the current revision is \(current)")
        case _ where error.isResourceExhausted: self = .unavailable("storage is overloaded: \(error)")
        default: self = .internalError("storage: \(error)")
        }
    }

    init(_ error: RaftError) {
        switch error {
        case .notLeader(let leader): self = .notLeader(leader: leader, address: nil)
        case .transferInProgress: self = .unavailable("leadership is being transferred")
        case .backpressure: self = .unavailable("too many writes are in flight")
        case .configChangeInProgress: self = .conflict("another membership change is in progress")
        case .invalidConfChange(let why): self = .conflict(why)
        case .unknownTransferTarget: self = .badRequest("the transfer target is not a voter")
        case .removed: self = .conflict("this node was removed from the cluster")
        }
    }
}
