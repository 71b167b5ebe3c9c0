/// A request one node makes of another outside Raft's own messages: a follower forwarding a
/// client's write to the leader. (A linearizable read needs no request of its own: its
/// ReadIndex travels as a Raft message.) Payloads are opaque bytes so the runtime owns
/// their meaning and the transport never needs to change with it.
public enum PeerRequest: Sendable, Equatable {
    /// Propose `command` on the receiver (the leader) and reply once it is applied.
    case propose(command: [UInt8])
    /// `propose`, made on behalf of the authenticated client `identity`. The sender has
    /// authorised it; the receiver only records who it was for (Docs/TRANSPORT.md).
    case proposeOnBehalf(command: [UInt8], identity: String)
    /// Several writes at once: what gathered on a follower since it last forwarded. The
    /// receiver proposes them in order and answers once, with `proposeResults` in the same
    /// order: one request and one reply per batch instead of per write.
    case proposeBatch([ForwardedProposal])
}

/// One write of a `proposeBatch`: as `propose`, or `proposeOnBehalf` when `identity` is set.
public struct ForwardedProposal: Sendable, Equatable {
    public var command: [UInt8]
    public var identity: String?

    public init(command: [UInt8], identity: String? = nil) {
        self.command = command
        self.identity = identity
    }
}

/// The reply to a `PeerRequest`.
public enum PeerResponse: Sendable, Equatable {
    /// The applied command's result, in the server layer's own encoding.
    case proposeResult([UInt8])
    /// The receiver could not serve the request; `code` is defined by the runtime
    /// (for example "not the leader"), `message` is for logs and operators.
    case failure(code: UInt32, message: String)
    /// The answers to a `proposeBatch`, one per proposal, in its order.
    case proposeResults([ProposeOutcome])
}

/// How one proposal of a batch ended: as `proposeResult` or `failure` would say it alone.
public enum ProposeOutcome: Sendable, Equatable {
    case result([UInt8])
    case failure(code: UInt32, message: String)
}
