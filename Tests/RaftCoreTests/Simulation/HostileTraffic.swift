import RaftCore

/// Well-formed messages that no honest member would send, aimed at a live node: every
/// message kind, from strangers and from members, with boundary values (0, the log's end
/// and just past it, `UInt64.max`, terms beyond any election's reach).
///
/// Each one is wrong in a way a node can see from its own state. A member lying within the
/// rules (a forged heartbeat from the real leader, say) is not generated: no Raft survives
/// that, which is why peers are authenticated. The simulation checks that, with this traffic
/// mixed into the faulty network, no node traps and every safety property still holds.
struct HostileTraffic {
    static let strangers: [NodeID] = ["evil", "n99"]

    /// One hostile message for `target`, whose state decides what it would notice.
    static func message(to target: RaftNode, members: [NodeID], random: inout SplitMix64) -> Message {
        let status = target.status
        let term = status.term
        let insiders = members.filter { $0 != target.id }
        let forger = insiders.isEmpty ? strangers[0] : pick(insiders, &random)
        let tooFar = [UInt64.max, term &+ RaftNode.maxTermJump &+ 1][Int(random.next() % 2)]
        let huge = [UInt64.max, UInt64.max - 1, status.lastIndex &+ 1, 1 << 63][Int(random.next() % 4)]

        switch random.next() % 7 {
        case 0:
            // A stranger, any kind, any term. A node outside its own configuration (a new
            // member catching up) takes a leader's messages from anyone, by design, so it is
            // only sent the other kinds.
            var body = anyBody(huge: huge, term: term, random: &random)
            if !status.conf.isMember(target.id), body.isLeaderTraffic { body = .timeoutNow }
            let anyTerm = [term, term + 1, tooFar, 0][Int(random.next() % 4)]
            return Message(from: pick(strangers, &random), to: target.id, term: anyTerm, body: body)
        case 1:
            // A member, any kind, a term no election could reach.
            return Message(from: forger, to: target.id, term: tooFar, body: anyBody(huge: huge, term: tooFar, random: &random))
        case 2:
            // Responses naming what the target never sent: indexes past its log, read rounds
            // never opened, snapshot offsets past what was sent.
            let bodies: [MessageBody] = [
                .appendResponse(AppendResponse(success: true, index: huge)),
                .appendResponse(AppendResponse(success: false, index: huge, hintIndex: .max, hintTerm: .max)),
                .heartbeatResponse(HeartbeatResponse(readRound: .max)),
                .snapshotResponse(SnapshotResponse(snapshotIndex: status.lastIndex, nextOffset: .max)),
            ]
            return Message(from: forger, to: target.id, term: term, body: pick(bodies, &random))
        case 3:
            // Entries that do not follow prevLogIndex, overflow, or outrun the sender's term.
            let last = status.lastIndex
            let requests = [
                AppendRequest(prevLogIndex: last, prevLogTerm: term, entries: [Entry(term: term, index: last + 3)], leaderCommit: .max),
                AppendRequest(prevLogIndex: .max, prevLogTerm: term, entries: [Entry(term: term, index: .max)], leaderCommit: .max),
                AppendRequest(prevLogIndex: last, prevLogTerm: term, entries: [Entry(term: term &+ 1, index: last + 1)], leaderCommit: .max),
                AppendRequest(prevLogIndex: last, prevLogTerm: term &+ 1, entries: [], leaderCommit: .max),
                AppendRequest(prevLogIndex: 0, prevLogTerm: 0, entries: [Entry(term: term, index: 1), Entry(term: term, index: 1)],
                              leaderCommit: .max),
            ]
            return Message(from: forger, to: target.id, term: term, body: .append(pick(requests, &random)))
        case 4:
            // A second "leader" in the target's term while it follows another.
            if let leader = status.leader, let other = insiders.first(where: { $0 != leader }) {
                let bodies: [MessageBody] = [
                    .heartbeat(Heartbeat(commit: .max, readRound: .max)),
                    .append(AppendRequest(prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: .max)),
                    .timeoutNow,
                    .readIndexResponse(ReadIndexResponse(requestID: random.next(), index: .max, ok: true)),
                ]
                return Message(from: other, to: target.id, term: term, body: pick(bodies, &random))
            }
            return Message(from: pick(strangers, &random), to: target.id, term: term, body: .timeoutNow)
        case 5:
            // A snapshot whose metadata claims a term after the sender's.
            let chunk = SnapshotChunk(metadata: SnapshotMetadata(index: huge, term: term &+ 1, conf: ConfState(voters: ["evil"])),
                                      offset: 0, data: [1, 2, 3], isLast: true)
            return Message(from: forger, to: target.id, term: term, body: .snapshot(chunk))
        default:
            // A stranger's vote requests that would win any comparison, also as a transfer.
            let request = VoteRequest(lastLogIndex: .max, lastLogTerm: .max, isLeadershipTransfer: random.next() % 2 == 0)
            let body: MessageBody = random.next() % 2 == 0 ? .vote(request) : .preVote(request)
            return Message(from: pick(strangers, &random), to: target.id, term: term + 1 + random.next() % 3, body: body)
        }
    }

    /// A body of any kind with boundary values, for senders the target drops whatever they say.
    private static func anyBody(huge: UInt64, term: UInt64, random: inout SplitMix64) -> MessageBody {
        let entry = Entry(term: term, index: huge, kind: random.next() % 2 == 0 ? .normal : .configChange,
                          data: ConfChange(kind: .addVoter, node: "evil").encoded())
        let bodies: [MessageBody] = [
            .preVote(VoteRequest(lastLogIndex: huge, lastLogTerm: .max, isLeadershipTransfer: true)),
            .preVoteResponse(VoteResponse(granted: true)),
            .vote(VoteRequest(lastLogIndex: huge, lastLogTerm: .max, isLeadershipTransfer: true)),
            .voteResponse(VoteResponse(granted: true)),
            .append(AppendRequest(prevLogIndex: huge, prevLogTerm: term, entries: [entry], leaderCommit: .max)),
            .appendResponse(AppendResponse(success: true, index: huge)),
            .heartbeat(Heartbeat(commit: .max, readRound: .max)),
            .heartbeatResponse(HeartbeatResponse(readRound: .max)),
            .snapshot(SnapshotChunk(metadata: SnapshotMetadata(index: huge, term: .max), offset: .max, data: [0], isLast: true)),
            .snapshotResponse(SnapshotResponse(snapshotIndex: huge, nextOffset: .max)),
            .timeoutNow,
            .readIndex(ReadIndexRequest(requestID: .max)),
            .readIndexResponse(ReadIndexResponse(requestID: .max, index: .max, ok: true)),
        ]
        return pick(bodies, &random)
    }

    private static func pick<T>(_ items: [T], _ random: inout SplitMix64) -> T {
        items[Int(random.next() % UInt64(items.count))]
    }
}

extension MessageBody {
    var isLeaderTraffic: Bool {
        switch self {
        case .append, .heartbeat, .snapshot: true
        default: false
        }
    }
}
