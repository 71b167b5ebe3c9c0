import KVStore
import RaftCore

/// What `GET /cluster/status` reports: this node's view, plus each member's replication
/// state when this node is the leader.
public struct ClusterStatus: Sendable {
    public struct Member: Sendable {
        public var id: NodeID
        public var address: MemberAddress?
        public var isVoter: Bool
        public var matchIndex: UInt64?
        public var lag: UInt64?
        public var lastContactMilliseconds: Int?
    }

    public var id: NodeID
    public var role: RaftRole
    public var term: UInt64
    public var leader: NodeID?
    public var leaderAddress: MemberAddress?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var firstIndex: UInt64
    public var members: [Member]
    /// False when this node is not part of the configuration (removed, or not yet admitted).
    public var isMember: Bool
    /// Bytes of this node's LMDB data file; nil when it cannot be read.
    public var databaseBytes: UInt64?
    /// Peer messages RaftCore refused before acting on them, by reason.
    public var droppedMessages = DroppedMessages()
}
