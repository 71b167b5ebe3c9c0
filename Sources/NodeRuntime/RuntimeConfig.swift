import KVStore
import RaftCore

/// How a node runs: identity, timing and policies. Times are expressed in ticks of
/// `tickMilliseconds`, the unit RaftCore counts in.
public struct RuntimeConfig: Sendable {
    public var id: NodeID
    public var address: MemberAddress
    public var clusterID: String = "kv"
    public var tickMilliseconds: Int = 10
    /// 50 ms heartbeats and 300–600 ms election timeouts by default: quick failover on
    /// loopback, with enough slack that a busy 2-core machine does not start elections.
    public var heartbeatTicks: Int = 5
    public var electionTicks: Int = 30
    /// How long a client request may wait for a leader, a commit or a read index.
    public var requestTimeoutMilliseconds: Int = 3_000
    /// Compact the log after this many applied entries. A snapshot file is taken only when
    /// a follower needs one (Docs/KVSTORE.md, "Log compaction and snapshots").
    public var snapshotEveryEntries: UInt64 = 10_000
    /// Entries kept behind the applied index at least, so followers that fell behind by
    /// fewer need no snapshot (kv-node: as many as `--history-revisions`).
    public var entriesRetainedAfterSnapshot: UInt64 = 1_000
    /// Uncommitted bytes a leader accepts before refusing writes (backpressure).
    public var maxUncommittedBytes: Int = 64 << 20
    /// A learner within this many entries of the leader is promoted to voter.
    public var promotionLag: UInt64 = 16
    /// Watchers and their buffers (`--max-watchers`; Docs/API.md, "Watch").
    public var watchLimits = WatchHub.Limits()
    /// History of changes kept before the leader compacts it (`--history-revisions`, `--history-age`).
    public var historyRetention = HistoryRetention()

    public init(id: NodeID, address: MemberAddress) {
        self.id = id
        self.address = address
    }

    func raftConfig(applied: UInt64) -> RaftConfig {
        var config = RaftConfig(id: id, randomSeed: UInt64.random(in: .min ... .max))
        config.heartbeatTicks = heartbeatTicks
        config.electionTicks = electionTicks
        config.maxUncommittedBytes = maxUncommittedBytes
        config.applied = applied
        return config
    }
}
