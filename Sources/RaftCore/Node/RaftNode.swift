/// One member of a Raft cluster as a deterministic state machine.
///
/// Inputs: `tick()` (time), `step(_:)` (a message from a peer), `propose(_:)` and the other
/// client calls. Outputs: a `Ready` value saying what to persist, send and apply. The node
/// does no I/O, reads no clock and uses only its own seeded random generator, so the same
/// inputs always produce the same outputs.
///
/// The algorithm is split by concern: `Election.swift` (section 5.2 and PreVote),
/// `Replication.swift` (section 5.3), `Commit.swift` (sections 5.3–5.4.2, Figure 8),
/// `Membership.swift`, `Snapshots.swift`, `LeadershipTransfer.swift`, `ReadIndex.swift`,
/// and `ReadyProduction.swift` (the hand-off to the application).
public struct RaftNode {
    public let id: NodeID
    let config: RaftConfig
    var log: RaftLog
    var random: SplitMix64

    // Figure 2, persistent state.
    var term: UInt64 = 0
    var vote: NodeID?

    // Volatile state.
    var role: RaftRole = .follower
    var leader: NodeID?
    var conf: ConfState
    /// The leader's per-member replication state (Figure 2's nextIndex[] and matchIndex[]).
    var progress: [NodeID: Progress] = [:]
    /// Votes received in the current (pre-)election.
    var votes: [NodeID: Bool] = [:]
    var electionElapsed = 0
    var heartbeatElapsed = 0
    /// Ticks counted while leader; lease reads measure time in these.
    var leaderTicks: UInt64 = 0
    var randomizedElectionTimeout = 0
    /// Messages produced since the last Ready.
    var outbox: [Message] = []
    /// The leader has new entries or a new commit index to announce in the next Ready.
    var needsBroadcast = false

    // Membership: index of the latest configuration change not yet applied.
    var pendingConfIndex: UInt64 = 0
    // Leadership transfer in progress.
    var leadTransferee: NodeID?
    // Backpressure: sizes of uncommitted entries this leader appended, oldest first.
    var uncommitted: [(index: UInt64, bytes: Int)] = []
    var uncommittedBytes = 0
    // ReadIndex bookkeeping (see ReadIndex.swift).
    var reads = ReadIndexTracker()
    // An incoming snapshot being received chunk by chunk.
    var incomingSnapshot: IncomingSnapshot?

    // What has been handed to the application.
    var handedOutHardState: HardState
    var handedOutSoftState: SoftState
    var pendingSnapshotChunks: [SnapshotChunk] = []
    var snapshotReadyToInstall: SnapshotMetadata?
    var readStates: [ReadState] = []
    var awaitingAdvance = false
    /// Messages `step` refused before the algorithm saw them (MessageValidation.swift).
    public internal(set) var droppedMessages = DroppedMessages()

    /// Creates a node over `storage`, which holds whatever this node persisted before.
    public init(config: RaftConfig, storage: any RaftStorage) {
        precondition(config.heartbeatTicks > 0 && config.electionTicks > config.heartbeatTicks,
                     "electionTicks must exceed heartbeatTicks")
        precondition(!config.leaseBasedReads || config.checkQuorum,
                     "lease-based reads are only safe with checkQuorum")
        self.id = config.id
        self.config = config
        self.random = SplitMix64(seed: config.randomSeed)
        self.log = RaftLog(storage: storage, applied: config.applied)
        let (hardState, snapshot) = storage.initialState()
        self.term = hardState.term
        self.vote = hardState.vote
        self.conf = RaftNode.configuration(replayingFrom: snapshot, upTo: log.applied, in: log)
        self.handedOutHardState = HardState(term: hardState.term, vote: hardState.vote, commit: log.committed)
        self.handedOutSoftState = SoftState(role: .follower, leader: nil)
        becomeFollower(term: term, leader: nil)
    }

    /// The entries that create a brand-new cluster: one configuration change per voter,
    /// committed at term 1. Every founding member writes the same entries, so their logs
    /// agree from the start. Write them (and the hard state) to storage before `init`.
    public static func bootstrapEntries(voters: [(id: NodeID, context: [UInt8])]) -> (entries: [Entry], hardState: HardState) {
        let entries = voters.enumerated().map { offset, voter in
            Entry(term: 1, index: UInt64(offset + 1), kind: .configChange,
                  data: ConfChange(kind: .addVoter, node: voter.id, context: voter.context).encoded())
        }
        return (entries, HardState(term: 1, vote: nil, commit: UInt64(entries.count)))
    }

    /// Membership after applying every configuration entry up to `applied`.
    private static func configuration(replayingFrom snapshot: SnapshotMetadata, upTo applied: UInt64, in log: RaftLog) -> ConfState {
        var conf = snapshot.conf
        guard applied > snapshot.index,
              let entries = try? log.entries(from: snapshot.index + 1, to: applied + 1) else { return conf }
        for entry in entries where entry.kind == .configChange {
            if let change = ConfChange(decoding: entry.data) { conf = change.applied(to: conf) }
        }
        return conf
    }

    // MARK: Public state

    public var currentTerm: UInt64 { term }
    public var currentRole: RaftRole { role }
    public var currentLeader: NodeID? { leader }
    public var commitIndex: UInt64 { log.committed }
    public var appliedIndex: UInt64 { log.applied }
    public var lastIndex: UInt64 { log.lastIndex }
    public var configuration: ConfState { conf }
    public var isLeader: Bool { role == .leader }

    /// A voter of the current configuration may stand for election; learners and removed
    /// members may not.
    var isPromotable: Bool { conf.isVoter(id) }

    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    var softState: SoftState { SoftState(role: role, leader: leader) }

    public var status: RaftStatus {
        var peers: [NodeID: PeerStatus] = [:]
        if role == .leader {
            for (peer, pr) in progress {
                let state: PeerStatus.ReplicationState
                switch pr.state {
                case .probe: state = .probe
                case .replicate: state = .replicate
                case .snapshot: state = .snapshot
                }
                peers[peer] = PeerStatus(matchIndex: pr.match, nextIndex: pr.next, state: state,
                                         isLearner: pr.isLearner, ticksSinceContact: pr.ticksSinceContact)
            }
        }
        return RaftStatus(id: id, role: role, term: term, vote: vote, leader: leader,
                          commitIndex: log.committed, appliedIndex: log.applied, lastIndex: log.lastIndex,
                          firstIndex: log.firstIndex, conf: conf, progress: peers, leadTransferee: leadTransferee)
    }

    // MARK: Outgoing messages

    mutating func send(_ body: MessageBody, to peer: NodeID, term messageTerm: UInt64? = nil) {
        outbox.append(Message(from: id, to: peer, term: messageTerm ?? term, body: body))
    }
}
