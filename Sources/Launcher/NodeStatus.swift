/// What a node answers on `GET /cluster/status` (DESIGN.md). Decoding is lenient: fields a
/// node does not send become nil instead of failing the whole poll.
public struct NodeStatus: Decodable, Sendable, Equatable {
    public var id: String
    public var role: String
    public var term: Int
    /// nil when the node knows no leader (an empty string counts as none).
    public var leader: String?
    public var leaderAPIAddress: String?
    public var commitIndex: Int
    public var appliedIndex: Int
    public var members: [MemberStatus]

    public init(
        id: String, role: String, term: Int, leader: String?, leaderAPIAddress: String? = nil,
        commitIndex: Int, appliedIndex: Int, members: [MemberStatus] = []
    ) {
        self.id = id
        self.role = role
        self.term = term
        self.leader = leader
        self.leaderAPIAddress = leaderAPIAddress
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.members = members
    }

    enum CodingKeys: String, CodingKey {
        case id, role, term, leader, members
        case leaderAPIAddress = "leader_api_addr"
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        role = (try c.decodeIfPresent(String.self, forKey: .role) ?? "unknown").lowercased()
        term = try c.decodeIfPresent(Int.self, forKey: .term) ?? 0
        leader = (try c.decodeIfPresent(String.self, forKey: .leader)).flatMap { $0.isEmpty ? nil : $0 }
        leaderAPIAddress = (try c.decodeIfPresent(String.self, forKey: .leaderAPIAddress)).flatMap {
            $0.isEmpty ? nil : $0
        }
        commitIndex = try c.decodeIfPresent(Int.self, forKey: .commitIndex) ?? 0
        appliedIndex = try c.decodeIfPresent(Int.self, forKey: .appliedIndex) ?? 0
        members = try c.decodeIfPresent([MemberStatus].self, forKey: .members) ?? []
    }

    public var isLeader: Bool { role == "leader" }
}

/// One entry of `members`. Progress fields are only known to the leader.
public struct MemberStatus: Decodable, Sendable, Equatable {
    public var id: String
    public var raftAddress: String?
    public var apiAddress: String?
    public var voter: Bool?
    public var matchIndex: Int?
    public var lag: Int?
    public var lastContactMilliseconds: Int?

    public init(
        id: String, raftAddress: String? = nil, apiAddress: String? = nil, voter: Bool? = nil,
        matchIndex: Int? = nil, lag: Int? = nil, lastContactMilliseconds: Int? = nil
    ) {
        self.id = id
        self.raftAddress = raftAddress
        self.apiAddress = apiAddress
        self.voter = voter
        self.matchIndex = matchIndex
        self.lag = lag
        self.lastContactMilliseconds = lastContactMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case id, voter, lag
        case raftAddress = "raft_addr"
        case apiAddress = "api_addr"
        case matchIndex = "match_index"
        case lastContactMilliseconds = "last_contact_ms"
    }
}
