import Foundation

/// One node the launcher manages, as remembered across launcher restarts.
public struct NodeConfig: Codable, Sendable, Equatable {
    public var id: NodeID
    public var slot: Int
    public var apiPort: Int
    public var raftPort: Int
    /// Founders form the initial configuration (`--bootstrap --peers`); every other node was
    /// added later and is started with `--join`.
    public var founder: Bool

    public init(id: NodeID, slot: Int, apiPort: Int, raftPort: Int, founder: Bool) {
        self.id = id
        self.slot = slot
        self.apiPort = apiPort
        self.raftPort = raftPort
        self.founder = founder
    }

    enum CodingKeys: String, CodingKey {
        case id, slot, founder
        case apiPort = "api_port"
        case raftPort = "raft_port"
    }
}

/// The cluster as the launcher knows it, persisted in `<data-dir>/cluster.json`.
///
/// Its existence is what stops a second launcher start from bootstrapping a new cluster: once
/// this file exists, nodes are only ever resumed, joined or removed.
public struct ClusterConfig: Codable, Sendable, Equatable {
    public var version: Int
    /// Set once any node reported a leader. Until then founders keep getting `--bootstrap`
    /// (harmless for a node that already has Raft state), so a launcher that died during the
    /// very first start can still finish it.
    public var bootstrapped: Bool
    public var nodes: [NodeConfig]

    public init(bootstrapped: Bool = false, nodes: [NodeConfig]) {
        self.version = 1
        self.bootstrapped = bootstrapped
        self.nodes = nodes
    }

    /// The first start's layout: `count` founders called node1...nodeN in slots 1...N.
    public static func initial(count: Int, plan: PortPlan) -> ClusterConfig {
        let nodes = (1...max(1, count)).map { slot in
            NodeConfig(
                id: NodeID("node\(slot)")!, slot: slot,
                apiPort: plan.apiPort(slot: slot), raftPort: plan.raftPort(slot: slot), founder: true)
        }
        return ClusterConfig(nodes: nodes)
    }

    public func node(_ id: NodeID) -> NodeConfig? { nodes.first { $0.id == id } }
}

/// Reads and atomically writes `cluster.json`.
public struct ClusterConfigStore: Sendable {
    public let url: URL

    public init(dataDirectory: URL) {
        self.url = dataDirectory.appendingPathComponent("cluster.json")
    }

    /// nil when the file does not exist; a file that exists but cannot be read is an error,
    /// because treating it as absent would bootstrap a second cluster over the first.
    public func load() throws -> ClusterConfig? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try Data(contentsOf: url)
        return try JSONDecoder().decode(ClusterConfig.self, from: data)
    }

    /// Writes a synced 0600 temporary file and renames it into place, then syncs the
    /// directory: a crash never leaves half a file, and a power loss cannot lose the file
    /// whose existence stops the next start from bootstrapping again.
    public func save(_ config: ClusterConfig) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(config)
        try PrivateFiles.makeDirectory(url.deletingLastPathComponent())
        try PrivateFiles.writeAtomically(data, to: url)
    }
}
