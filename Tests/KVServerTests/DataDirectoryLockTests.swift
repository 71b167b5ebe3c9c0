import Foundation
import Testing

/// Two kv-node processes on one data directory would both write its log and LMDB; the
/// second must stop at once without changing a byte there.
@Suite("Data directory lock")
struct DataDirectoryLockTests {
    /// Name, size and modification time of every file under `url`.
    private static func listing(_ url: URL) -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
        while let file = enumerator?.nextObject() as? URL {
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }
            result[file.path] = "\(info.st_mode) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return result
    }

    @Test("a second kv-node on a data directory in use exits with an error and changes nothing")
    func secondNodeRefused() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let first = try await cluster.leader()
            _ = try await first.client.putAcknowledged("lock-a", "1")
            // An idle single-node cluster writes nothing: wait until the files stop changing.
            let before = try await eventually("the data directory to settle") { () -> [String: String]? in
                let a = Self.listing(first.dataDirectory)
                try await Task.sleep(for: .milliseconds(300))
                return a == Self.listing(first.dataDirectory) ? a : nil
            }

            let ports = PortAllocator.ports(2)
            let intruder = NodeProcess(id: first.id, apiPort: ports[0], raftPort: ports[1], directory: first.directory,
                                       extraArguments: cluster.commonArguments)
            defer { intruder.forceStop() }
            try intruder.start()
            let code = try await intruder.waitForExit()
            #expect(code != nil && code != 0, "the second kv-node must exit non-zero, got \(code.map(String.init) ?? "a signal")")
            let log = first.logTail(lines: 200)
            #expect(log.contains("\(first.dataDirectory.path) is in use"), "the error names the directory")
            #expect(log.contains("another kv-node"))
            #expect(Self.listing(first.dataDirectory) == before, "the second kv-node changed the data directory")

            // The first one still serves.
            _ = try await first.client.putAcknowledged("lock-b", "2")
            let reply = try await first.client.linearizableGet("lock-a")
            #expect(reply.status == 200)
        }
    }
}
