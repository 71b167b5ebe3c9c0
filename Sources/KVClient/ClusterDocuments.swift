import ClusterAPI

/// `GET /health`: the process serves, with its id, role and the leader it knows.
public struct NodeHealth: Sendable, Equatable, Decodable {
    public var status: String
    public var id: String?
    public var role: String?
    public var leader: String?

    public var isHealthy: Bool { status == "ok" }
}

/// The answer to a leadership transfer: who leads now, in which term.
public struct LeaderTransfer: Sendable, Equatable, Decodable {
    public var leader: String
    public var term: UInt64
}

/// The answer to a join: the membership after it, when the node lists it.
struct JoinAnswer: Decodable {
    var members: [MemberStatus]?
}

/// The answer to `POST /compact`.
public struct Compaction: Sendable, Equatable, Decodable {
    /// History at and below this revision is gone.
    public var compactRevision: UInt64
    /// The revision of the compaction itself.
    public var revision: UInt64

    enum CodingKeys: String, CodingKey {
        case revision
        case compactRevision = "compact_revision"
    }
}

/// One endpoint's status, or why it has none, for tools that show every endpoint.
public struct EndpointStatus: Sendable {
    public var endpoint: Endpoint
    public var result: Result<NodeStatus, KVClientError>
}

/// One endpoint's health, or why it is not healthy.
public struct EndpointHealth: Sendable {
    public var endpoint: Endpoint
    public var result: Result<NodeHealth, KVClientError>
}

/// The members' API addresses as endpoints, and why any member's could not be used.
public struct MemberEndpoints: Sendable {
    public var endpoints: [Endpoint]
    /// One ``KVClientError/invalidResponse(_:)`` per member whose address is not a `host:port`.
    public var malformed: [KVClientError]

    public init(endpoints: [Endpoint], malformed: [KVClientError]) {
        self.endpoints = endpoints
        self.malformed = malformed
    }
}
