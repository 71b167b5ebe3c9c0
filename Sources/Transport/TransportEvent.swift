import NIOCore
import RaftCore

/// What the transport hands to the node runtime.
public enum TransportEvent: Sendable {
    /// A Raft message from a peer, for `step`.
    case message(Message)
    /// A peer's forwarded request; answer it with `IncomingPeerRequest.respond(_:)`.
    case request(IncomingPeerRequest)
    /// Messages to this peer were dropped (not connected, or its queue was full). Raft should
    /// treat the peer as unreachable (back off to probing). Reported at most once between two
    /// successful writes to the peer.
    case unreachable(NodeID)
    /// The peer refused our handshake (another cluster or protocol version). The transport keeps
    /// retrying with backoff, in case the peer is reconfigured.
    case refused(peer: NodeID, reason: String)
}

/// A request a peer forwarded to this node. The reply travels back on the connection the
/// request came in on, so it reaches the asker even if this node has no address for it.
public struct IncomingPeerRequest: Sendable {
    public let from: NodeID
    public let request: PeerRequest
    let requestID: UInt64
    let channel: any Channel

    /// Sends the reply. Never blocks: if the asker's connection is gone or not draining, the
    /// reply is dropped and the asker's own timeout reports it.
    public func respond(_ response: PeerResponse) {
        guard channel.isActive, channel.isWritable else { return }
        var buffer = channel.allocator.buffer(capacity: 64)
        PeerRequestCodec.writeFrame(requestID: requestID, response, into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }
}

/// Why `RaftTransport.request(_:to:timeout:)` failed.
public enum TransportError: Error, Equatable, Sendable {
    /// The peer is not in the address book.
    case unknownPeer(NodeID)
    /// The request could not be queued, or the connection dropped before the reply came.
    case peerUnreachable(NodeID)
    case timedOut
    case shutdown
}
