/// A request one node makes of another outside Raft's own messages: chiefly a follower
/// forwarding a client's write or linearizable read to the leader. Payloads are opaque bytes so
/// the server layer owns their meaning and the transport never needs to change with it.
public enum PeerRequest: Sendable, Equatable {
    /// Propose `command` on the receiver (the leader) and reply once it is applied.
    case propose(command: [UInt8])
    /// Ask the receiver (the leader) for a read index the caller may serve reads at.
    case readIndex
}

/// The reply to a `PeerRequest`.
public enum PeerResponse: Sendable, Equatable {
    /// The applied command's result, in the server layer's own encoding.
    case proposeResult([UInt8])
    /// Reads are linearizable once the caller has applied up to `index`.
    case readIndexResult(index: UInt64)
    /// The receiver could not serve the request; `code` is defined by the server layer
    /// (for example "not the leader"), `message` is for logs and operators.
    case failure(code: UInt32, message: String)
}
