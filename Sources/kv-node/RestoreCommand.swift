import ArgumentParser
import FoundationEssentials
import KVServer
import KVStore
import NodeRuntime
import RaftCore
import Transport

/// `kv-node restore`: seeds a new data directory from a backup (`GET /snapshot`,
/// `kvctl snapshot save`) as a member of a new cluster, offline, as `etcdctl snapshot
/// restore` does (Docs/API.md, "Backup, restore, export and import").
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Seed a new data directory from a snapshot file, for a new cluster.",
        discussion: """
            Run it once per member of the new cluster, with the same --snapshot and --peers; then start \
            each member with `kv-node --id ID --api-addr ... --raft-addr ... --data-dir DIR` (no --bootstrap). \
            The members get a new cluster id (recorded in DIR), so they never talk to the cluster the \
            snapshot came from.
            """)

    @Option(help: "The snapshot file to restore.") var snapshot: String
    @Option(name: .customLong("data-dir"), help: "The new data directory; it must not exist or be empty.") var dataDir: String
    @Option(help: "This member's id; it must be one of --peers.") var id: String
    @Option(help: "Every member of the new cluster: ID=RAFTHOST:PORT@APIHOST:PORT,...") var peers: String
    @Option(name: .customLong("cluster-id"), help: "The new cluster's id (default: derived from the snapshot and --peers, so every member gets the same).")
    var clusterID: String?

    func validate() throws {
        guard MemberIDSyntax.isValid(id) else {
            throw ValidationError("--id must match \(MemberIDSyntax.pattern)")
        }
        let members = try ServeCommand.parsePeers(peers)
        guard members.contains(where: { $0.0.rawValue == id }) else { throw ValidationError("--peers must include this member (\(id))") }
        guard Set(members.map(\.0)).count == members.count else { throw ValidationError("--peers names a member twice") }
        if let clusterID, clusterID.isEmpty || clusterID.utf8.count > 255 {
            throw ValidationError("--cluster-id must be 1 to 255 bytes")
        }
    }

    func run() async throws {
        let members = try ServeCommand.parsePeers(peers).map {
            MemberRecord(id: $0.0, isVoter: true, context: $0.1.context)
        }
        let existed = FileManager.default.fileExists(atPath: dataDir)
        let summary: SnapshotSummary
        do {
            summary = try await DurableStore.restore(backup: snapshot, into: dataDir, members: members)
        } catch {
            // Leave nothing half-made behind: the operator runs the same command again.
            if !existed { try? FileManager.default.removeItem(atPath: dataDir) }
            ServeCommand.failStartup("kv-node restore: \(error)")
        }
        let cluster = clusterID ?? ClusterIdentity.derived(snapshotChecksum: summary.checksum,
                                                           peers: members.map { "\($0.id.rawValue)=\(String(decoding: $0.context, as: UTF8.self))" })
        try ClusterIdentity.record(cluster, dataDirectory: dataDir)
        print("""
            restored revision \(summary.revision) (\(summary.keys) keys, \(summary.historyEvents) history events, \
            \(summary.leases) leases) into \(dataDir) as \(id) of cluster \(cluster) with members \
            \(members.map(\.id.rawValue).joined(separator: ", "))
            """)
    }
}
