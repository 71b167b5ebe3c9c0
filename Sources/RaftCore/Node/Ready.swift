/// Everything the node asks the outside world to do, handed out as one value.
///
/// The embedding program must, in this order:
/// 0. send `replicationMessages` (they may also go out during step 1),
/// 1. make `hardState`, `entries`, `snapshotChunks` and `snapshotToInstall` durable (one sync
///    when `mustSync`; a change of the commit index alone may be written lazily),
/// 2. send `messages`,
/// 3. apply `committedEntries` in order and answer `readStates` once their index is applied,
/// 4. call `advance(_:)` with this value.
/// While the Ready is out, `RaftNode.takeCommittedEntries()` hands out entries committed
/// meanwhile; apply them after this Ready's `committedEntries`.
/// Steps and proposals may arrive between `ready()` and `advance(_:)`; their effects go into
/// the next `Ready`, which is how concurrent proposals share one disk sync.
public struct Ready: Sendable, Equatable {
    /// Role or leader changed since the previous Ready.
    public var softState: SoftState?
    /// Term, vote or commit changed and must be persisted.
    public var hardState: HardState?
    /// Entries to append to stable storage (replacing any suffix they conflict with).
    public var entries: [Entry] = []
    /// Pieces of an incoming snapshot to stage durably before acknowledging them.
    public var snapshotChunks: [SnapshotChunk] = []
    /// A completely received snapshot: replace the state machine and the log with it.
    public var snapshotToInstall: SnapshotMetadata?
    /// A leader's AppendEntries and heartbeats, in a term already durable: they need not
    /// wait for this Ready's own disk write, so the leader writes its log in parallel with
    /// its followers (the dissertation's section 10.2.1). Safe because the leader counts its
    /// own entries toward a majority only after `advance(_:)` reports them durable.
    public var replicationMessages: [Message] = []
    /// Messages to send once the above is durable.
    public var messages: [Message] = []
    /// Committed entries to apply, in order.
    public var committedEntries: [Entry] = []
    /// Confirmed linearizable reads: serve each once `index` is applied.
    public var readStates: [ReadState] = []
    /// Local reads that will never be confirmed here (leadership changed): fail or retry them.
    public var abandonedReads: [UInt64] = []

    /// True when something must be durable before `messages` may leave: a new term or vote,
    /// entries, or snapshot data. When only the commit index changed, it may be written
    /// without a sync: a node that loses it relearns it from the leader, and the entries it
    /// covers are durable already (etcd's MustSync rule).
    public var mustSync = false

    public init() {}
}

/// Volatile state worth reporting when it changes.
public struct SoftState: Sendable, Equatable {
    public var role: RaftRole
    public var leader: NodeID?
}

public enum RaftRole: String, Sendable, Equatable {
    case follower
    case preCandidate = "pre-candidate"
    case candidate
    case leader
}

/// A linearizable read that may be served once `index` has been applied locally.
public struct ReadState: Sendable, Equatable {
    public var requestID: UInt64
    public var index: UInt64
    public init(requestID: UInt64, index: UInt64) {
        self.requestID = requestID
        self.index = index
    }
}

/// Where a proposal landed; it is committed when an entry with this index and term is applied.
public struct ProposalReceipt: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
}

/// Why a proposal, configuration change or read was refused. None of these is a fault:
/// the caller retries elsewhere or later.
public enum RaftError: Error, Sendable, Equatable {
    /// Only the leader accepts proposals; `leader` is the best current guess.
    case notLeader(leader: NodeID?)
    /// A leadership transfer is under way.
    case transferInProgress
    /// Too many uncommitted bytes are outstanding.
    case backpressure
    /// Another membership change has not been applied yet, or this term's first entry is
    /// not yet committed.
    case configChangeInProgress
    /// The change is not valid for the current membership.
    case invalidConfChange(String)
    /// The named transfer target is not a voter.
    case unknownTransferTarget
    /// The node was removed from the cluster.
    case removed
}
