/// A node as `/api/control/nodes` and the dashboard show it: the fields Docs/LAUNCHER.md lists first, then
/// what the launcher adds (process state, exit status, replication progress).
public struct NodeView: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case online, offline
    }

    public var id: String
    public var apiPort: Int
    public var raftPort: Int
    /// online when the process runs and its last `/cluster/status` poll answered.
    public var status: Status
    /// The node's own word for its role; "unknown" while it does not answer.
    public var role: String
    public var isLeader: Bool
    /// Last values the node reported (kept while it is offline, so a crashed node shows where it stopped).
    public var term: Int
    public var commitIndex: Int
    public var appliedIndex: Int
    public var pid: Int?

    /// running, paused, stopping, stopped or crashed: what the supervisor knows of the process.
    public var state: ProcessState
    public var exitCode: Int?
    public var exitSignal: Int?
    /// true voter, false learner, nil when no member list mentions the node (yet).
    public var voter: Bool?
    public var member: Bool
    public var matchIndex: Int?
    public var lag: Int?
    public var lastContactMilliseconds: Int?
    /// Who this node believes leads.
    public var leader: String?
    public var founder: Bool
    public var startedAt: Int64?
    public var lastSeen: Int64?
    public var dataDirectory: String

    enum CodingKeys: String, CodingKey {
        case id, status, role, term, pid, state, voter, member, lag, leader, founder
        case apiPort = "api_port"
        case raftPort = "raft_port"
        case isLeader = "is_leader"
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
        case exitCode = "exit_code"
        case exitSignal = "exit_signal"
        case matchIndex = "match_index"
        case lastContactMilliseconds = "last_contact_ms"
        case startedAt = "started_at"
        case lastSeen = "last_seen"
        case dataDirectory = "data_dir"
    }

    /// Every field is always present, with null for what is unknown, so clients can rely on
    /// the shape (the synthesized encoder would leave nil fields out).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(apiPort, forKey: .apiPort)
        try c.encode(raftPort, forKey: .raftPort)
        try c.encode(status, forKey: .status)
        try c.encode(role, forKey: .role)
        try c.encode(isLeader, forKey: .isLeader)
        try c.encode(term, forKey: .term)
        try c.encode(commitIndex, forKey: .commitIndex)
        try c.encode(appliedIndex, forKey: .appliedIndex)
        try c.encode(pid, forKey: .pid)
        try c.encode(state, forKey: .state)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(exitSignal, forKey: .exitSignal)
        try c.encode(voter, forKey: .voter)
        try c.encode(member, forKey: .member)
        try c.encode(matchIndex, forKey: .matchIndex)
        try c.encode(lag, forKey: .lag)
        try c.encode(lastContactMilliseconds, forKey: .lastContactMilliseconds)
        try c.encode(leader, forKey: .leader)
        try c.encode(founder, forKey: .founder)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(dataDirectory, forKey: .dataDirectory)
    }
}
