/// A message between two Raft members. Messages are plain values: a transport encodes them,
/// a simulator shuffles them, and nothing in them refers to a connection or a clock.
public struct Message: Sendable, Equatable {
    public var from: NodeID
    public var to: NodeID
    /// The sender's term (for a PreVote request: the term it would campaign in).
    public var term: UInt64
    public var body: MessageBody

    public init(from: NodeID, to: NodeID, term: UInt64, body: MessageBody) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }
}

public enum MessageBody: Sendable, Equatable {
    /// "Would you vote for me?" sent before a real election so a partitioned node cannot
    /// disrupt the cluster by inflating its term (dissertation section 9.6).
    case preVote(VoteRequest)
    case preVoteResponse(VoteResponse)
    /// RequestVote RPC.
    case vote(VoteRequest)
    case voteResponse(VoteResponse)
    /// AppendEntries RPC carrying entries.
    case append(AppendRequest)
    case appendResponse(AppendResponse)
    /// AppendEntries with no entries: asserts leadership, carries the commit index and the
    /// ReadIndex round being confirmed.
    case heartbeat(Heartbeat)
    case heartbeatResponse(HeartbeatResponse)
    /// InstallSnapshot RPC, one chunk at a time.
    case snapshot(SnapshotChunk)
    case snapshotResponse(SnapshotResponse)
    /// Leadership transfer: "campaign now, ignoring your election timer".
    case timeoutNow
    /// A follower asks the leader for a read index on behalf of its client.
    case readIndex(ReadIndexRequest)
    case readIndexResponse(ReadIndexResponse)
}

extension MessageBody {
    /// A leader's AppendEntries or heartbeat: what may leave before the leader's own disk
    /// write (see `Ready.replicationMessages`).
    var isReplication: Bool {
        switch self {
        case .append, .heartbeat: true
        default: false
        }
    }
}

public struct VoteRequest: Sendable, Equatable {
    public var lastLogIndex: UInt64
    public var lastLogTerm: UInt64
    /// Set when a leadership transfer asked for this election; such a request may
    /// override the "I heard from a leader recently" protection.
    public var isLeadershipTransfer: Bool

    public init(lastLogIndex: UInt64, lastLogTerm: UInt64, isLeadershipTransfer: Bool = false) {
        self.lastLogIndex = lastLogIndex
        self.lastLogTerm = lastLogTerm
        self.isLeadershipTransfer = isLeadershipTransfer
    }
}

public struct VoteResponse: Sendable, Equatable {
    public var granted: Bool
    public init(granted: Bool) { self.granted = granted }
}

public struct AppendRequest: Sendable, Equatable {
    public var prevLogIndex: UInt64
    public var prevLogTerm: UInt64
    public var entries: [Entry]
    public var leaderCommit: UInt64

    public init(prevLogIndex: UInt64, prevLogTerm: UInt64, entries: [Entry], leaderCommit: UInt64) {
        self.prevLogIndex = prevLogIndex
        self.prevLogTerm = prevLogTerm
        self.entries = entries
        self.leaderCommit = leaderCommit
    }
}

public struct AppendResponse: Sendable, Equatable {
    /// True when the follower's log now matches the leader's up to `matchIndex`.
    public var success: Bool
    /// On success: the last index known to match. On rejection: the `prevLogIndex` rejected.
    public var index: UInt64
    /// On rejection, where the leader should look next. `hintTerm == 0` means "my log ends
    /// before `hintIndex`"; otherwise `hintIndex` is the follower's first index of the
    /// conflicting term `hintTerm`, so the leader can skip the whole term at once.
    public var hintIndex: UInt64
    public var hintTerm: UInt64

    public init(success: Bool, index: UInt64, hintIndex: UInt64 = 0, hintTerm: UInt64 = 0) {
        self.success = success
        self.index = index
        self.hintIndex = hintIndex
        self.hintTerm = hintTerm
    }
}

public struct Heartbeat: Sendable, Equatable {
    /// The leader's commit index capped at what this follower is known to have, so a
    /// follower never marks entries committed that it does not hold.
    public var commit: UInt64
    /// The latest ReadIndex round the leader wants confirmed (0 when none).
    public var readRound: UInt64

    public init(commit: UInt64, readRound: UInt64 = 0) {
        self.commit = commit
        self.readRound = readRound
    }
}

public struct HeartbeatResponse: Sendable, Equatable {
    public var readRound: UInt64
    public init(readRound: UInt64 = 0) { self.readRound = readRound }
}

public struct SnapshotResponse: Sendable, Equatable {
    /// The index of the snapshot being transferred.
    public var snapshotIndex: UInt64
    /// How many bytes of it the follower holds; the leader continues from here.
    public var nextOffset: UInt64
    /// The follower could not use the chunk (wrong offset or another snapshot): restart from 0.
    public var rejected: Bool

    public init(snapshotIndex: UInt64, nextOffset: UInt64, rejected: Bool = false) {
        self.snapshotIndex = snapshotIndex
        self.nextOffset = nextOffset
        self.rejected = rejected
    }
}

public struct ReadIndexRequest: Sendable, Equatable {
    /// Chosen by the asking follower; echoed back so it can find its waiting reads.
    public var requestID: UInt64
    public init(requestID: UInt64) { self.requestID = requestID }
}

public struct ReadIndexResponse: Sendable, Equatable {
    public var requestID: UInt64
    /// The index the read must wait to be applied; meaningful only when `ok`.
    public var index: UInt64
    /// False when the leader could not confirm a read index (deposed, or not yet able).
    public var ok: Bool

    public init(requestID: UInt64, index: UInt64, ok: Bool) {
        self.requestID = requestID
        self.index = index
        self.ok = ok
    }
}
