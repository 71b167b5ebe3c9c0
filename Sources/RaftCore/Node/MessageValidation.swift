/// Every message is checked before the algorithm sees it.
///
/// Raft assumes messages that honest members could have sent. A message from the network may
/// be anything: from a node that is not a member, with a term no election could reach, or with
/// indexes past the end of the log. `step` drops such messages here, in one place, so the
/// role handlers can rely on what the paper's rules assume: every index a response names is
/// one we could have sent, entries follow `prevLogIndex` one by one, no term jumps past what
/// elections could produce, and only the known leader of a term speaks as leader in it.
///
/// These checks cannot catch a member that lies within the rules (Raft is not Byzantine
/// fault tolerant); peers must also be authenticated. What they guarantee is that no message
/// makes a node trap, persist a term it could never leave, or act on a value it never sent.
public enum DropReason: String, Sendable, CaseIterable {
    /// Not addressed to this node, or claiming to come from it.
    case misaddressed = "misaddressed"
    /// The sender is not in this node's configuration.
    case unknownSender = "unknown_sender"
    /// The term is further ahead of ours than any run of elections could take it.
    case termOutOfRange = "term_out_of_range"
    /// An index or offset past what this node has, or a read round it never opened.
    case indexOutOfRange = "index_out_of_range"
    /// Entries that do not follow `prevLogIndex` one by one, or whose terms run backward or
    /// past the sender's term.
    case malformedEntries = "malformed_entries"
    /// Entries that contradict what this node knows to be committed.
    case conflictsWithCommitted = "conflicts_with_committed"
    /// A leader's message from a node that is not this term's leader, or an answer only the
    /// leader may give from someone else.
    case notFromLeader = "not_from_leader"
}

/// How many messages `step` dropped, by reason. Monotonic counters for metrics.
public struct DroppedMessages: Sendable, Equatable {
    private var counts = [UInt64](repeating: 0, count: DropReason.allCases.count)

    public init() {}

    public subscript(reason: DropReason) -> UInt64 {
        counts[Self.position(of: reason)]
    }

    public var total: UInt64 { counts.reduce(0, &+) }

    mutating func count(_ reason: DropReason) {
        counts[Self.position(of: reason)] &+= 1
    }

    private static func position(of reason: DropReason) -> Int {
        DropReason.allCases.firstIndex(of: reason) ?? 0
    }
}

extension RaftNode {
    /// A term may move ahead of ours by at most this much in one message. Honest terms grow by
    /// one per election, so no real cluster comes near it, while a forged term of `UInt64.max`
    /// (which would leave the node no term to campaign in) is refused.
    public static let maxTermJump: UInt64 = 1 << 32

    /// Why `message` must be dropped before any rule of the algorithm sees it, or nil.
    func dropReason(for message: Message) -> DropReason? {
        guard message.to == id, message.from != id else { return .misaddressed }
        if let reason = senderReason(message) { return reason }
        if message.term > term && message.term - term > Self.maxTermJump { return .termOutOfRange }
        return fieldReason(message)
    }

    /// Only members take part. The exception is a node outside its own configuration: one
    /// waiting to be added, or a new member replaying the log from its start, whose applied
    /// configuration does not name it yet. It hears from whoever leads, or it could never
    /// catch up. A member whose configuration lags (cut off while another node joined and
    /// then won an election) does not hear from that leader until leadership moves to a node
    /// it knows; etcd accepts the same gap. Docs/ARCHITECTURE.md, "Hostile peers".
    private func senderReason(_ message: Message) -> DropReason? {
        if conf.isMember(message.from) {
            switch message.body {
            case .preVote, .vote:
                // Only voters campaign; a learner's vote request is not a real candidacy.
                return conf.isVoter(message.from) ? nil : .unknownSender
            default:
                return nil
            }
        }
        switch message.body {
        case .append, .heartbeat, .snapshot:
            return conf.isMember(id) ? .unknownSender : nil
        default:
            return .unknownSender
        }
    }

    /// Field checks that depend on the message kind and on our own state.
    private func fieldReason(_ message: Message) -> DropReason? {
        switch message.body {
        case .append(let request):
            if let reason = entriesReason(request, messageTerm: message.term) { return reason }
            return leaderReason(message)
        case .heartbeat:
            return leaderReason(message)
        case .snapshot(let chunk):
            if chunk.metadata.term > message.term { return .malformedEntries }
            return leaderReason(message)
        case .appendResponse(let response):
            // A follower cannot hold, or have rejected, an index past our own log: we never
            // sent it. (A response from a newer term carries index 0 and says only "step down".)
            guard message.term <= term else { return nil }
            return response.index > log.lastIndex ? .indexOutOfRange : nil
        case .heartbeatResponse(let response):
            guard message.term <= term else { return nil }
            return response.readRound > reads.latestRound ? .indexOutOfRange : nil
        case .snapshotResponse(let response):
            guard message.term <= term, case .snapshot(let transfer)? = progress[message.from]?.state,
                  response.snapshotIndex == transfer.metadata.index else { return nil }
            return response.nextOffset > transfer.sentOffset ? .indexOutOfRange : nil
        case .timeoutNow:
            // Only our leader may tell us to campaign at once.
            return message.term == term && leader == message.from ? nil : .notFromLeader
        case .readIndexResponse(let response) where response.ok:
            // Only our leader confirms a read index; anyone may say it could not.
            return message.term == term && leader == message.from ? nil : .notFromLeader
        case .preVote, .vote, .preVoteResponse, .voteResponse, .readIndex, .readIndexResponse:
            return nil
        }
    }

    /// One leader per term: once we follow a leader in this term, nobody else speaks as one.
    private func leaderReason(_ message: Message) -> DropReason? {
        guard message.term == term, let leader, leader != message.from else { return nil }
        return .notFromLeader
    }

    /// Entries must continue `prevLogIndex` one by one, with terms that never go backward and
    /// never pass the sender's own term (a leader only holds entries of its term or older).
    private func entriesReason(_ request: AppendRequest, messageTerm: UInt64) -> DropReason? {
        guard request.prevLogTerm <= messageTerm else { return .malformedEntries }
        var expectedIndex = request.prevLogIndex
        var previousTerm = request.prevLogTerm
        for entry in request.entries {
            let (next, overflow) = expectedIndex.addingReportingOverflow(1)
            guard !overflow, entry.index == next, entry.term >= previousTerm, entry.term <= messageTerm else {
                return .malformedEntries
            }
            expectedIndex = next
            previousTerm = entry.term
        }
        return nil
    }
}
