import Foundation
import Launcher
import Logging
import Testing

/// The launcher's data directory: one launcher at a time, never a second cluster bootstrapped
/// over an existing one, and files only its owner can read.
@Suite struct DataDirectorySafetyTests {
    private static let logger = Logger(label: "launcher-tests")

    private static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    /// Everything under `url` with its size and modification time.
    private static func listing(_ url: URL) -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
        while let file = enumerator?.nextObject() as? URL {
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }
            result[file.path] = "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return result
    }

    @Test func aSecondLauncherOnTheSameDataDirectoryStopsBeforeTouchingIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("data")
        let held = try LauncherLock(dataDirectory: data)
        let before = Self.listing(data)

        var options = LauncherOptions()
        options.dataDirectory = data.path
        options.port = 1  // never reached: the lock is checked first
        options.kvNodePath = "/nonexistent/kv-node"
        do {
            try await Launcher.run(options)
            Issue.record("a second launcher started on a data directory in use")
        } catch {
            let message = String(describing: error)
            #expect(message.contains(data.path) && message.contains("another kv-launcher"), "\(message)")
        }
        #expect(Self.listing(data) == before, "no cluster.json, no node directory")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("cluster.json").path))
        withExtendedLifetime(held) {}
    }

    @Test func theLockIsFreeAgainOnceItsHolderIsGone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("data")
        var first: LauncherLock? = try LauncherLock(dataDirectory: data)
        #expect(throws: (any Error).self) { try LauncherLock(dataDirectory: data) }
        withExtendedLifetime(first) {}
        first = nil
        // A process another test spawns at this moment holds a copy of every descriptor
        // between its fork and its exec (close-on-exec closes it only then): wait that out.
        #expect(await eventually(timeout: .seconds(10)) { (try? LauncherLock(dataDirectory: data)) != nil })
    }

    @Test func noBootstrapOverNodeDirectoriesWithoutClusterJSON() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("data")
        for (node, file) in [("node1", "lmdb/data.mdb"), ("node2", "wal")] {
            let path = data.appendingPathComponent(node).appendingPathComponent(file)
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            if file == "wal" {
                try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            } else {
                try Data([1, 2, 3]).write(to: path)
            }
        }
        // A node directory holding only its log is no Raft state.
        try FileManager.default.createDirectory(at: data.appendingPathComponent("node3"), withIntermediateDirectories: true)
        #expect(LaunchPlan.nodeDirectoriesWithRaftState(in: data) == ["node1", "node2"])

        do {
            _ = try LaunchPlan.loadOrCreate(dataDirectory: data, initialNodes: 3, plan: PortPlan(basePort: 29_000), logger: Self.logger)
            Issue.record("bootstrapped a new cluster over existing node directories")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("\(data.path)/node1") && message.contains("\(data.path)/node2"), "\(message)")
            #expect(!message.contains("\(data.path)/node3"))
            #expect(message.contains("restore") && message.contains("remove \(data.path)"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("cluster.json").path))
    }

    @Test func aFirstStartWritesAPrivateClusterJSON() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("data")
        let config = try LaunchPlan.loadOrCreate(dataDirectory: data, initialNodes: 3, plan: PortPlan(basePort: 29_000), logger: Self.logger)
        #expect(config.nodes.count == 3)
        #expect(Self.mode(data.path) == 0o700)
        #expect(Self.mode(data.appendingPathComponent("cluster.json").path) == 0o600)
        // Resumed, not bootstrapped again.
        #expect(try LaunchPlan.loadOrCreate(dataDirectory: data, initialNodes: 5, plan: PortPlan(basePort: 29_000), logger: Self.logger) == config)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}
