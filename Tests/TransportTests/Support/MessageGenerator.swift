import RaftCore
import Transport

/// Builds random but reproducible Raft messages: a failing case names its seed, and the same
/// seed builds the same message again.
struct MessageGenerator {
    var random: SplitMix64
    /// Upper bound on each byte payload, so bulk tests stay light and codec tests reach edges.
    var maxDataSize: Int
    var maxEntries: Int

    init(seed: UInt64, maxDataSize: Int = 300, maxEntries: Int = 8) {
        self.random = SplitMix64(seed: seed)
        self.maxDataSize = maxDataSize
        self.maxEntries = maxEntries
    }

    static let bodyCaseCount = 13

    /// Interesting integers more often than uniform draws would give them.
    mutating func number() -> UInt64 {
        switch random.next() % 4 {
        case 0: [0, 1, UInt64.max, UInt64(UInt32.max)].randomElement(using: &random)!
        case 1: random.next() % 1000
        default: random.next()
        }
    }

    mutating func flag() -> Bool { random.next() & 1 == 1 }

    mutating func bytes() -> [UInt8] {
        let count = Int(random.next() % UInt64(maxDataSize + 1))
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Names mixing ASCII and multi-byte UTF-8, including the empty name.
    mutating func nodeID() -> NodeID {
        let alphabet = Array("abcXYZ019_-éλ節🙂")
        let length = Int(random.next() % 12)
        return NodeID(String((0..<length).map { _ in alphabet.randomElement(using: &random)! }))
    }

    mutating func nodeIDs() -> Set<NodeID> {
        Set((0..<Int(random.next() % 5)).map { _ in nodeID() })
    }

    mutating func entry() -> Entry {
        Entry(term: number(), index: number(), kind: flag() ? .normal : .configChange, data: bytes())
    }

    mutating func voteRequest() -> VoteRequest {
        VoteRequest(lastLogIndex: number(), lastLogTerm: number(), isLeadershipTransfer: flag())
    }

    /// The body for case number `index` (0..<bodyCaseCount) in `MessageBody` declaration order.
    mutating func body(case index: Int) -> MessageBody {
        switch index {
        case 0: .preVote(voteRequest())
        case 1: .preVoteResponse(VoteResponse(granted: flag()))
        case 2: .vote(voteRequest())
        case 3: .voteResponse(VoteResponse(granted: flag()))
        case 4: .append(AppendRequest(
            prevLogIndex: number(), prevLogTerm: number(),
            entries: (0..<Int(random.next() % UInt64(maxEntries + 1))).map { _ in entry() },
            leaderCommit: number()))
        case 5: .appendResponse(AppendResponse(success: flag(), index: number(), hintIndex: number(), hintTerm: number()))
        case 6: .heartbeat(Heartbeat(commit: number(), readRound: number()))
        case 7: .heartbeatResponse(HeartbeatResponse(readRound: number()))
        case 8: .snapshot(SnapshotChunk(
            metadata: SnapshotMetadata(
                index: number(), term: number(), conf: ConfState(voters: nodeIDs(), learners: nodeIDs())),
            offset: number(), data: bytes(), isLast: flag()))
        case 9: .snapshotResponse(SnapshotResponse(snapshotIndex: number(), nextOffset: number(), rejected: flag()))
        case 10: .timeoutNow
        case 11: .readIndex(ReadIndexRequest(requestID: number()))
        default: .readIndexResponse(ReadIndexResponse(requestID: number(), index: number(), ok: flag()))
        }
    }

    mutating func message(case index: Int? = nil, from: NodeID? = nil, to: NodeID? = nil) -> Message {
        let index = index ?? Int(random.next() % UInt64(Self.bodyCaseCount))
        return Message(from: from ?? nodeID(), to: to ?? nodeID(), term: number(), body: body(case: index))
    }

    mutating func peerRequest() -> PeerRequestSample {
        let request: PeerRequest
        switch random.next() % 3 {
        case 0: request = .propose(command: bytes())
        case 1: request = .proposeOnBehalf(command: bytes(), identity: nodeID().rawValue)
        default:
            // Empty batches too: a receiver answers them with no outcomes.
            let count = Int(random.next() % 6)
            var proposals: [ForwardedProposal] = []
            for _ in 0..<count {
                let command = bytes()
                proposals.append(ForwardedProposal(command: command, identity: random.next() % 2 == 0 ? nil : nodeID().rawValue))
            }
            request = .proposeBatch(proposals)
        }
        return .init(id: number(), request: request)
    }

    mutating func peerResponse() -> PeerResponseSample {
        let response: PeerResponse
        switch random.next() % 3 {
        case 0: response = .proposeResult(bytes())
        case 1: response = .failure(code: UInt32(truncatingIfNeeded: number()), message: nodeID().rawValue)
        default:
            let count = Int(random.next() % 6)
            var outcomes: [ProposeOutcome] = []
            for _ in 0..<count {
                outcomes.append(random.next() % 2 == 0
                    ? .result(bytes()) : .failure(code: UInt32(truncatingIfNeeded: number()), message: nodeID().rawValue))
            }
            response = .proposeResults(outcomes)
        }
        return .init(id: number(), response: response)
    }
}

struct PeerRequestSample: Equatable {
    var id: UInt64
    var request: PeerRequest
}

struct PeerResponseSample: Equatable {
    var id: UInt64
    var response: PeerResponse
}
