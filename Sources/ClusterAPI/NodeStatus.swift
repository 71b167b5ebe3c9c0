/// The `GET /cluster/status` document: one node's view of itself and of the cluster, written by
/// kv-node and read by kv-launcher, the tests and any other client (field names: Docs/API.md).
///
/// Encoding writes every key, with null for what is unknown, so clients can rely on the shape.
/// Decoding is lenient on purpose: a node of another version, or one mid-restart, may leave
/// fields out, and one missing field must not make a poller lose the whole answer. A missing
/// field takes its default, `role` is lowercased and an empty `leader` means none.
public struct NodeStatus: Codable, Sendable, Equatable {
    public var id: String
    /// `follower`, `pre-candidate`, `candidate` or `leader` (RaftCore's role names); "unknown"
    /// when a node does not say.
    public var role: String
    public var term: UInt64
    /// nil when the node knows no leader.
    public var leader: String?
    public var leaderAPIAddress: String?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    public var firstIndex: UInt64
    /// Whether the node is in the configuration it knows (false once removed or before it is
    /// admitted; false also when a node does not say).
    public var isMember: Bool
    /// The configuration this node knows; replication progress is filled in on the leader only.
    public var members: [MemberStatus]
    /// Bytes of the node's data file on disk; nil when the node does not say.
    public var dbSizeBytes: UInt64?

    public init(
        id: String, role: String, term: UInt64, leader: String?, leaderAPIAddress: String? = nil,
        commitIndex: UInt64, appliedIndex: UInt64, lastIndex: UInt64 = 0, firstIndex: UInt64 = 0,
        isMember: Bool = false, members: [MemberStatus] = [], dbSizeBytes: UInt64? = nil
    ) {
        self.id = id
        self.role = role
        self.term = term
        self.leader = leader
        self.leaderAPIAddress = leaderAPIAddress
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.lastIndex = lastIndex
        self.firstIndex = firstIndex
        self.isMember = isMember
        self.members = members
        self.dbSizeBytes = dbSizeBytes
    }

    public var isLeader: Bool { role == "leader" }

    enum CodingKeys: String, CodingKey {
        case id, role, term, leader, members
        case leaderAPIAddress = "leader_api_addr"
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
        case lastIndex = "last_index"
        case firstIndex = "first_index"
        case isMember = "is_member"
        case dbSizeBytes = "db_size_bytes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        role = (try c.decodeIfPresent(String.self, forKey: .role) ?? "unknown").lowercased()
        term = try c.decodeIfPresent(UInt64.self, forKey: .term) ?? 0
        leader = try c.decodeIfPresent(String.self, forKey: .leader).flatMap { $0.isEmpty ? nil : $0 }
        leaderAPIAddress = try c.decodeIfPresent(String.self, forKey: .leaderAPIAddress).flatMap { $0.isEmpty ? nil : $0 }
        commitIndex = try c.decodeIfPresent(UInt64.self, forKey: .commitIndex) ?? 0
        appliedIndex = try c.decodeIfPresent(UInt64.self, forKey: .appliedIndex) ?? 0
        lastIndex = try c.decodeIfPresent(UInt64.self, forKey: .lastIndex) ?? 0
        firstIndex = try c.decodeIfPresent(UInt64.self, forKey: .firstIndex) ?? 0
        isMember = try c.decodeIfPresent(Bool.self, forKey: .isMember) ?? false
        members = try c.decodeIfPresent([MemberStatus].self, forKey: .members) ?? []
        dbSizeBytes = try c.decodeIfPresent(UInt64.self, forKey: .dbSizeBytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(role, forKey: .role)
        try c.encode(term, forKey: .term)
        try c.encode(leader, forKey: .leader)
        try c.encode(leaderAPIAddress, forKey: .leaderAPIAddress)
        try c.encode(commitIndex, forKey: .commitIndex)
        try c.encode(appliedIndex, forKey: .appliedIndex)
        try c.encode(lastIndex, forKey: .lastIndex)
        try c.encode(firstIndex, forKey: .firstIndex)
        try c.encode(isMember, forKey: .isMember)
        try c.encode(members, forKey: .members)
        try c.encode(dbSizeBytes, forKey: .dbSizeBytes)
    }
}
