import Foundation
import Glibc

/// Stops nodes left running by a launcher that was killed without a chance to stop them.
///
/// The supervisor writes `<data-dir>/<id>/node.pid`; a new launcher finds such a file, checks
/// that the process's command line is really that node (`--id <id>` and `--data-dir` of this
/// directory), and terminates it, so its ports are free and the new launcher supervises a
/// fresh process. Both flags, because a stale file's pid may since belong to a node of the same
/// id in another directory (another launcher's, or another test's): pids are reused.
public enum OrphanReaper {
    public static func reap(config: ClusterConfig, dataDirectory: URL, timeout: Duration = .seconds(10)) async -> [NodeID] {
        var reaped: [NodeID] = []
        let arguments = NodeArguments(dataDirectory: dataDirectory.path)
        for node in config.nodes {
            let directory = arguments.directory(for: node.id)
            // The file the supervisor writes in the node's directory.
            let pidFile = directory + "/node.pid"
            defer { try? FileManager.default.removeItem(atPath: pidFile) }
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
                isNode(pid: pid, id: node.id, directory: directory)
            else { continue }
            ProcessSpawner.sendToOrphan(SIGCONT, to: pid)
            ProcessSpawner.sendToOrphan(SIGTERM, to: pid)
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline && isNode(pid: pid, id: node.id, directory: directory) {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if isNode(pid: pid, id: node.id, directory: directory) { ProcessSpawner.sendToOrphan(SIGKILL, to: pid) }
            reaped.append(node.id)
        }
        return reaped
    }

    /// Whether `pid` runs with `--id <id>` and `--data-dir <directory>` on its command line (and
    /// is not a zombie).
    static func isNode(pid: Int32, id: NodeID, directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        {
            return false
        }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let pairs = zip(arguments, arguments.dropFirst())
        return pairs.contains { $0 == "--id" && $1 == id.rawValue } && pairs.contains { $0 == "--data-dir" && $1 == directory }
    }
}
