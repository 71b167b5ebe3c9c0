/// Tuning and identity of one Raft node. Times are in ticks: the embedding program decides
/// how long a tick is (kv-node uses a monotonic clock; the simulator counts steps).
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// Minimum election timeout; each election picks a random timeout in
    /// `electionTicks..<2*electionTicks` so split votes resolve quickly.
    public var electionTicks: Int = 10
    /// Interval between leader heartbeats; must be well below `electionTicks`.
    public var heartbeatTicks: Int = 1
    /// Ask "would you vote for me?" before incrementing the term (dissertation 9.6).
    public var preVote: Bool = true
    /// A leader steps down when it has not heard from a quorum for an election timeout, and
    /// followers that hear from a leader ignore vote requests for that long.
    public var checkQuorum: Bool = true
    /// Upper bound on the entry bytes in one AppendEntries message.
    public var maxMessageBytes: Int = 1 << 20
    /// How many AppendEntries may be outstanding to one follower in replicate state.
    public var maxInflightMessages: Int = 256
    /// How many bytes of entries may be outstanding to one follower in replicate state.
    public var maxInflightBytes: Int = 16 << 20
    /// Heartbeat intervals without an answer before the leader probes a follower again (an
    /// outstanding probe, or a replicating follower whose match index stopped moving).
    /// Several, not one: a follower busy catching up answers late, and probing it again
    /// would only send it what it is already working through.
    public var stalledHeartbeats: Int = 3
    /// Proposals are refused once this many entry bytes are appended but not committed
    /// (0 means no limit).
    public var maxUncommittedBytes: Int = 0
    /// Size of each snapshot chunk on the wire.
    public var snapshotChunkBytes: Int = 1 << 20
    /// Seed of this node's private random generator (election timeouts).
    public var randomSeed: UInt64
    /// The index the application has already applied (from its durable state), so a restart
    /// does not hand the same entries out again.
    public var applied: UInt64 = 0
    /// Serve ReadIndex from the leader lease instead of a heartbeat round. Only allowed with
    /// `checkQuorum`, which is what bounds the lease.
    public var leaseBasedReads: Bool = false

    public init(id: NodeID, randomSeed: UInt64) {
        self.id = id
        self.randomSeed = randomSeed
    }
}
