import Foundation

/// Something that happened to the cluster, for the dashboard's timeline.
public struct TimelineEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case launcherStarted = "launcher_started"
        case clusterBootstrapped = "cluster_bootstrapped"
        case nodeStarted = "node_started"
        case nodeStopped = "node_stopped"
        case nodeCrashed = "node_crashed"
        case nodeKilled = "node_killed"
        case nodePaused = "node_paused"
        case nodeResumed = "node_resumed"
        case nodeAdded = "node_added"
        case nodeJoined = "node_joined"
        case nodePromoted = "node_promoted"
        case nodeRemoved = "node_removed"
        case nodeOnline = "node_online"
        case nodeUnreachable = "node_unreachable"
        case leaderElected = "leader_elected"
        case leaderLost = "leader_lost"
        case termChanged = "term_changed"
        case error
    }

    public enum Severity: String, Codable, Sendable {
        case info, success, warning, error
    }

    public var id: Int
    /// Milliseconds since the Unix epoch, which JavaScript's `Date` takes as is.
    public var time: Int64
    public var kind: Kind
    public var node: String?
    public var message: String
    public var severity: Severity
}

/// Throughput over the last sampling window, from commit index deltas (not metric names,
/// which kv-node may rename).
public struct ThroughputSample: Codable, Sendable, Equatable {
    public var time: Int64
    public var writesPerSecond: Double
    public var commitIndex: Int

    public init(time: Int64, writesPerSecond: Double, commitIndex: Int) {
        self.time = time
        self.writesPerSecond = writesPerSecond
        self.commitIndex = commitIndex
    }

    enum CodingKeys: String, CodingKey {
        case time
        case writesPerSecond = "writes_per_sec"
        case commitIndex = "commit_index"
    }
}

/// The whole cluster at one instant: what `/api/control/nodes` answers plus cluster-wide facts.
public struct ClusterSnapshot: Codable, Sendable {
    public var time: Int64
    public var nodes: [NodeView]
    public var leader: String?
    public var term: Int
    public var voters: Int
    public var votersUp: Int
    public var hasQuorum: Bool

    enum CodingKeys: String, CodingKey {
        case time, nodes, leader, term, voters
        case votersUp = "voters_up"
        case hasQuorum = "has_quorum"
    }
}

/// Everything a new subscriber needs to draw the page at once.
public struct HelloPayload: Codable, Sendable {
    public var timeline: [TimelineEvent]
    public var throughput: [ThroughputSample]
    public var snapshot: ClusterSnapshot?
}

/// One Server-Sent Event as the launcher emits it.
public enum ServerEvent: Sendable {
    case hello(HelloPayload)
    case snapshot(ClusterSnapshot)
    case timeline(TimelineEvent)
    case throughput(ThroughputSample)

    public var name: String {
        switch self {
        case .hello: "hello"
        case .snapshot: "nodes"
        case .timeline: "timeline"
        case .throughput: "throughput"
        }
    }

    /// The `event:`/`data:` frame. JSON from `JSONEncoder` has no raw newlines, so one `data:`
    /// line is always enough.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        let data: Data?
        switch self {
        case .hello(let payload): data = try? encoder.encode(payload)
        case .snapshot(let snapshot): data = try? encoder.encode(snapshot)
        case .timeline(let event): data = try? encoder.encode(event)
        case .throughput(let sample): data = try? encoder.encode(sample)
        }
        let json = data.flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return "event: \(name)\ndata: \(json)\n\n"
    }
}

extension Date {
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
