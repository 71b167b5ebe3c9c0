/// A read-only view of a node for dashboards, metrics and tests.
public struct RaftStatus: Sendable, Equatable {
    public var id: NodeID
    public var role: RaftRole
    public var term: UInt64
    public var vote: NodeID?
    public var leader: NodeID?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var firstIndex: UInt64
    public var conf: ConfState
    /// Per-member replication state; filled in on the leader only.
    public var progress: [NodeID: PeerStatus]
    public var leadTransferee: NodeID?
}

public struct PeerStatus: Sendable, Equatable {
    /// How the leader sends to a member, the flow-control states of `Progress`.
    /// The raw values are the names dashboards and logs print.
    public enum ReplicationState: String, Sendable, Equatable {
        /// Where the member's log diverges is unknown: one AppendEntries at a time.
        case probe
        /// The member is in sync: entries stream, bounded by the in-flight window.
        case replicate
        /// The member needs entries the leader compacted: a snapshot is being streamed.
        case snapshot
    }

    public var matchIndex: UInt64
    public var nextIndex: UInt64
    public var state: ReplicationState
    public var isLearner: Bool
    /// Ticks since the leader last heard from this member.
    public var ticksSinceContact: Int
}
