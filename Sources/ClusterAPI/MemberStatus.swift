/// One entry of `NodeStatus.members`. The addresses come from the configuration; `matchIndex`,
/// `lag` (entries behind the leader's log) and `lastContactMilliseconds` are known to the
/// leader only and are null elsewhere.
///
/// Like `NodeStatus`, every key is written (null when unknown) and decoding tolerates missing
/// fields, except `id`: a member without one names nothing. A member that does not say whether
/// it votes counts as a voter, as the launcher's quorum checks always assumed.
public struct MemberStatus: Codable, Sendable, Equatable {
    public var id: String
    public var raftAddress: String?
    public var apiAddress: String?
    /// false for a learner (admitted, not yet caught up).
    public var voter: Bool
    public var matchIndex: UInt64?
    public var lag: UInt64?
    public var lastContactMilliseconds: Int?

    public init(
        id: String, raftAddress: String? = nil, apiAddress: String? = nil, voter: Bool = true,
        matchIndex: UInt64? = nil, lag: UInt64? = nil, lastContactMilliseconds: Int? = nil
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

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        raftAddress = try c.decodeIfPresent(String.self, forKey: .raftAddress)
        apiAddress = try c.decodeIfPresent(String.self, forKey: .apiAddress)
        voter = try c.decodeIfPresent(Bool.self, forKey: .voter) ?? true
        matchIndex = try c.decodeIfPresent(UInt64.self, forKey: .matchIndex)
        lag = try c.decodeIfPresent(UInt64.self, forKey: .lag)
        lastContactMilliseconds = try c.decodeIfPresent(Int.self, forKey: .lastContactMilliseconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(raftAddress, forKey: .raftAddress)
        try c.encode(apiAddress, forKey: .apiAddress)
        try c.encode(voter, forKey: .voter)
        try c.encode(matchIndex, forKey: .matchIndex)
        try c.encode(lag, forKey: .lag)
        try c.encode(lastContactMilliseconds, forKey: .lastContactMilliseconds)
    }
}
