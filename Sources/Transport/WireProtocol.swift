/// The constants both ends of a connection must agree on. The protocol version lives here and
/// nowhere else, so a change to any wire layout is one edit plus a version bump.
public enum WireProtocol {
    /// Bumped whenever any frame layout changes. A peer speaking another version is refused
    /// at the handshake instead of being misread frame by frame.
    /// Not bumped for the cluster-secret frames (0x04-0x06) and refusal 6: they are new
    /// frames, sent only when a secret is configured, and a peer without them refuses them as
    /// unknown types, so plain clusters still upgrade one node at a time (Docs/TRANSPORT.md).
    public static let version: UInt16 = 1

    /// Opens every handshake ("RAFT" read as little-endian), so a stray client on the Raft
    /// port (an HTTP probe, a port scanner) is told apart from a peer of another version.
    static let magic: UInt32 = 0x5446_4152

    /// The default ceiling on one frame. Large enough for a batch of entries or a snapshot
    /// chunk, small enough that one hostile length prefix cannot make the node reserve much.
    public static let defaultMaxFrameSize = 16 * 1024 * 1024
}

/// One byte per kind of frame. Raft message types follow `MessageBody`'s cases; node-to-node
/// requests and replies have their own range. A byte outside this registry is a protocol error.
enum FrameType: UInt8, CaseIterable {
    case handshake = 0x01
    case handshakeAccept = 0x02
    case handshakeReject = 0x03
    /// With a cluster secret (Docs/TRANSPORT.md, "Cluster secret"): the acceptor's nonce,
    /// the dialler's nonce and proof, the acceptor's proof.
    case secretChallenge = 0x04
    case secretResponse = 0x05
    case secretProof = 0x06

    case preVote = 0x10
    case preVoteResponse = 0x11
    case vote = 0x12
    case voteResponse = 0x13
    case append = 0x14
    case appendResponse = 0x15
    case heartbeat = 0x16
    case heartbeatResponse = 0x17
    case snapshot = 0x18
    case snapshotResponse = 0x19
    case timeoutNow = 0x1A
    case readIndex = 0x1B
    case readIndexResponse = 0x1C

    case peerRequest = 0x30
    case peerResponse = 0x31

    var isRaftMessage: Bool { (0x10...0x1C).contains(rawValue) }
}
