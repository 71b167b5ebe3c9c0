import Foundation
import Logging

/// Decides, from what the data directory holds, whether this start resumes a cluster or
/// bootstraps a new one.
public enum LaunchPlan {
    /// Loads `cluster.json`; without one, bootstraps a new cluster (writing the file before
    /// any node starts), unless node directories with Raft state are there: bootstrapping
    /// new founders beside them would start a second cluster whose nodes reuse the old
    /// directories, so that start is refused with what was found and how to go on.
    public static func loadOrCreate(
        dataDirectory: URL, initialNodes: Int, plan: PortPlan, logger: Logger
    ) throws -> ClusterConfig {
        let store = ClusterConfigStore(dataDirectory: dataDirectory)
        if let existing = try store.load() {
            logger.notice("resuming the cluster in \(dataDirectory.path): \(existing.nodes.map(\.id.rawValue).joined(separator: ", "))")
            return existing
        }
        let found = nodeDirectoriesWithRaftState(in: dataDirectory)
        guard found.isEmpty else {
            throw Launcher.StartupError(description: """
                \(store.url.path) is missing, but these node directories hold Raft state:
                \(found.map { "  \(dataDirectory.path)/\($0)" }.joined(separator: "\n"))
                Refusing to bootstrap a new cluster over them.
                To resume that cluster, restore \(store.url.path) (from a backup).
                To start a fresh cluster instead, remove \(dataDirectory.path) (this deletes all its data).
                """)
        }
        let config = ClusterConfig.initial(count: initialNodes, plan: plan)
        // Written before any node starts: from now on this directory is never bootstrapped anew.
        try store.save(config)
        logger.notice("bootstrapping a new \(config.nodes.count)-node cluster in \(dataDirectory.path)")
        return config
    }

    /// Names of the subdirectories of `dataDirectory` in which a kv-node has kept state: an
    /// LMDB environment, a write-ahead log or snapshots (what `kv-node --data-dir` creates).
    public static func nodeDirectoriesWithRaftState(in dataDirectory: URL) -> [String] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: dataDirectory.path)) ?? []
        return names.sorted().filter { name in
            let node = dataDirectory.appendingPathComponent(name)
            return ["lmdb/data.mdb", "wal", "snapshots"].contains { fm.fileExists(atPath: node.appendingPathComponent($0).path) }
        }
    }
}
