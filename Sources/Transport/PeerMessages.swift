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
}

/// The reply to a `PeerRequest`.
public enum PeerResponse: Sendable, Equatable {
    /// The applied command's result, in the server layer's own encoding.
    case proposeResult([UInt8])
    /// The receiver could not serve the request; `code` is defined by the runtime
    /// (for example "not the leader"), `message` is for logs and operators.
    case failure(code: UInt32, message: String)
}
