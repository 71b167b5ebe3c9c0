import NIOCore
import RaftCore

/// What waits in a peer's outbound queue: Raft messages and forwarded requests share one queue
/// so they leave in the order they were handed over.
enum OutboundItem: Sendable {
    case message(Message)
    case request(id: UInt64, PeerRequest)

    /// Counted against the queue's byte limit before anything is encoded.
    var estimatedSize: Int {
        switch self {
        case .message(let message): RaftMessageCodec.estimatedSize(of: message)
        case .request(_, .propose(let command)): 32 + command.count
        case .request(_, .proposeOnBehalf(let command, let identity)): 32 + command.count + identity.utf8.count
        case .request(_, .proposeBatch(let proposals)):
            proposals.reduce(32) { $0 + 8 + $1.command.count + ($1.identity?.utf8.count ?? 0) }
        }
    }

    func writeFrame(into buffer: inout ByteBuffer) {
        switch self {
        case .message(let message): RaftMessageCodec.writeFrame(message, into: &buffer)
        case .request(let id, let request): PeerRequestCodec.writeFrame(requestID: id, request, into: &buffer)
        }
    }
}
