/// Linearizable reads without writing to the log (dissertation 6.4, "ReadIndex").
///
/// 1. The leader records its commit index as the read index. If no entry of its own term
///    has committed yet, its commit index may be stale, so the read waits for that first.
/// 2. It confirms it is still the leader: heartbeats carry a read round number, and once a
///    majority of voters echoed a round, every read registered in that round or earlier is
///    confirmed (one heartbeat round confirms any number of reads).
/// 3. The application serves the read once its applied index reaches the read index.
/// A follower asks the leader for a read index and then waits for its own apply.
///
/// With `leaseBasedReads`, step 2 is skipped while the leader holds a lease: a follower
/// ignores vote requests for an election timeout after it hears from its leader, so once a
/// majority answered a heartbeat sent at leader tick T, nobody else can be elected before
/// T + electionTicks. Each heartbeat opens a round and records when it was sent, so the
/// lease is measured from the send time of the latest heartbeat a quorum answered, minus a
/// margin for tick-rate drift. This relies on bounded clock drift, and on a restarted
/// follower not voting within the lease (it forgets its leader), as with etcd's lease reads.
struct ReadIndexTracker: Sendable {
    struct PendingRead: Sendable {
        var requestID: UInt64
        /// Who asked: nil for a local read.
        var from: NodeID?
        var index: UInt64
        var round: UInt64
    }

    /// The newest round number handed out; heartbeats carry it.
    var latestRound: UInt64 = 0
    /// Reads waiting for a quorum to confirm their round, in round order.
    var pending: [PendingRead] = []
    /// Reads that arrived before this leader committed an entry of its term.
    var awaitingCommit: [(requestID: UInt64, from: NodeID?)] = []
    /// The leader tick at which each recent round's heartbeats were sent (lease reads).
    var roundSentAt: [UInt64: UInt64] = [:]
    /// The newest round a quorum confirmed.
    var confirmedRound: UInt64 = 0
    /// The highest round each voter confirmed.
    var acknowledged: [NodeID: UInt64] = [:]
    /// `latestRound` has reads but its heartbeats have not been sent yet.
    var roundAwaitingBroadcast = false
    /// Local reads that can no longer be answered (leadership changed); reported in Ready.
    var abandoned: [UInt64] = []
}

extension RaftNode {
    /// Requests a linearizable read. The answer arrives as a `ReadState` with this
    /// `requestID` in a later `Ready` (or in `Ready.abandonedReads` if leadership changes).
    public mutating func readIndex(requestID: UInt64) throws(RaftError) {
        switch role {
        case .leader:
            registerRead(requestID: requestID, from: nil)
        default:
            guard let leader else { throw .notLeader(leader: nil) }
            send(.readIndex(ReadIndexRequest(requestID: requestID)), to: leader)
        }
    }

    mutating func handleReadIndexRequest(from peer: NodeID, requestID: UInt64) {
        registerRead(requestID: requestID, from: peer)
    }

    mutating func handleReadIndexResponse(_ response: ReadIndexResponse) {
        if response.ok {
            readStates.append(ReadState(requestID: response.requestID, index: response.index))
        } else {
            reads.abandoned.append(response.requestID)
        }
    }

    private mutating func registerRead(requestID: UInt64, from: NodeID?) {
        guard hasCommittedInCurrentTerm else {
            reads.awaitingCommit.append((requestID, from))
            return
        }
        let index = log.committed
        if conf.voters == [id] || holdsLease {
            answerRead(requestID: requestID, from: from, index: index)
            return
        }
        // Reads registered before the next Ready share one heartbeat round; a round whose
        // heartbeats already left cannot confirm a read that arrived after them.
        if !reads.roundAwaitingBroadcast {
            reads.latestRound += 1
            reads.roundAwaitingBroadcast = true
        }
        reads.pending.append(.init(requestID: requestID, from: from, index: index, round: reads.latestRound))
    }

    /// True while no other leader can have been elected (see the type's comment).
    private var holdsLease: Bool {
        guard config.leaseBasedReads, leadTransferee == nil,
              let sentAt = reads.roundSentAt[reads.confirmedRound] else { return false }
        let margin = UInt64(max(1, config.electionTicks / 5))
        return leaderTicks + margin < sentAt + UInt64(config.electionTicks)
    }

    /// Once the first entry of our term commits, reads queued before it can proceed.
    mutating func releaseReadsAwaitingCommit() {
        guard !reads.awaitingCommit.isEmpty, hasCommittedInCurrentTerm else { return }
        let waiting = reads.awaitingCommit
        reads.awaitingCommit = []
        for read in waiting { registerRead(requestID: read.requestID, from: read.from) }
    }

    mutating func acknowledgeReadRound(from peer: NodeID, round: UInt64) {
        guard round > 0, conf.isVoter(peer), round > reads.acknowledged[peer] ?? 0 else { return }
        reads.acknowledged[peer] = round
        // The round a majority of voters confirmed (we confirm every round ourselves).
        let rounds = conf.voters.map { $0 == id ? reads.latestRound : reads.acknowledged[$0] ?? 0 }.sorted(by: >)
        let confirmed = rounds[conf.quorum - 1]
        if confirmed > reads.confirmedRound {
            reads.confirmedRound = confirmed
        }
        let ready = reads.pending.prefix { $0.round <= confirmed }
        reads.pending.removeFirst(ready.count)
        for read in ready { answerRead(requestID: read.requestID, from: read.from, index: read.index) }
    }

    private mutating func answerRead(requestID: UInt64, from: NodeID?, index: UInt64) {
        if let from {
            send(.readIndexResponse(ReadIndexResponse(requestID: requestID, index: index, ok: true)), to: from)
        } else {
            readStates.append(ReadState(requestID: requestID, index: index))
        }
    }

    /// Leadership changed: no pending read may be answered by this node any more.
    mutating func abandonReads() {
        let waiting = reads.pending.map { ($0.requestID, $0.from) } + reads.awaitingCommit.map { ($0.requestID, $0.from) }
        for (requestID, from) in waiting {
            if let from {
                send(.readIndexResponse(ReadIndexResponse(requestID: requestID, index: 0, ok: false)), to: from)
            } else {
                reads.abandoned.append(requestID)
            }
        }
        reads.pending = []
        reads.awaitingCommit = []
        reads.acknowledged = [:]
        reads.roundSentAt = [:]
        reads.confirmedRound = 0
    }
}
