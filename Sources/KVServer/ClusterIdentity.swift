import Crypto
import FoundationEssentials

/// The cluster id a node announces at every Raft handshake (nodes of different clusters
/// refuse each other). A data directory made by `kv-node restore` records its new cluster's
/// id in `DIR/cluster-id`, so its members never talk to the cluster the snapshot came from,
/// even at the same addresses, and nobody has to remember a flag.
public enum ClusterIdentity {
    public static let fileName = "cluster-id"
    /// What a data directory without a recorded id uses when `--cluster-id` is not given.
    public static let defaultID = "kv"

    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// The recorded id, or `flag`, or the default. A flag that contradicts the recorded id
    /// is refused: the node would be cut off from its own cluster.
    public static func resolve(dataDirectory: String, flag: String?) throws -> String {
        let path = dataDirectory + "/" + fileName
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return flag ?? defaultID }
        let recorded = text.trimmingWhitespace()
        guard !recorded.isEmpty else { throw Mismatch(description: "\(path) is empty; it should hold the cluster id") }
        if let flag, flag != recorded {
            throw Mismatch(description: "--cluster-id \(flag) contradicts the id \(recorded) recorded in \(path) by kv-node restore; leave out --cluster-id")
        }
        return recorded
    }

    public static func record(_ id: String, dataDirectory: String) throws {
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: dataDirectory + "/" + fileName), options: .atomic)
    }

    /// The same for every member restored from one snapshot with one member list, and
    /// different from any other restore: `kv-` and 16 hex digits of a SHA-256.
    public static func derived(snapshotChecksum: UInt32, peers: [String]) -> String {
        let material = "\(snapshotChecksum)|" + peers.sorted().joined(separator: ",")
        let digest = SHA256.hash(data: Data(material.utf8))
        return "kv-" + digest.prefix(8).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
