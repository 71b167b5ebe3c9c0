import ClusterAPI
import Foundation
import Testing

/// A whole cluster stopped gracefully and started again with the same flags, including
/// `--bootstrap`, resumes the same cluster instead of founding a new one.
@Suite("Full restart")
struct RestartTests {
    @Test("SIGTERM stops every node with exit 0; restarting with --bootstrap keeps data, members and revisions")
    func restartAll() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            var lastRevision: UInt64 = 0
            for i in 0..<20 {
                lastRevision = try await leader.client.putAcknowledged("rs-\(i)", "v\(i)")
            }
            // Every node has applied everything before it is stopped.
            let before = try await eventually("all nodes to apply revision \(lastRevision)") { () -> [NodeStatus]? in
                var statuses: [NodeStatus] = []
                for node in cluster.nodes { statuses.append(try await node.client.status()) }
                let commit = statuses.map(\.commitIndex).max() ?? 0
                return statuses.allSatisfy { $0.appliedIndex == commit } ? statuses : nil
            }
            let membersBefore = before[0].members.map { "\($0.id) \($0.raftAddress ?? "?") \($0.apiAddress ?? "?") \($0.voter)" }
            let termBefore = before.map(\.term).max() ?? 0
            let commitBefore = before.map(\.commitIndex).max() ?? 0

            for node in cluster.nodes {
                let code = try await node.terminate()
                #expect(code == 0, "\(node.id) should exit 0 on SIGTERM, got \(code.map(String.init) ?? "a signal")")
            }
            for node in cluster.nodes { try node.start() }

            let newLeader = try await cluster.leader()
            let after = try await newLeader.client.status()
            #expect(after.members.map { "\($0.id) \($0.raftAddress ?? "?") \($0.apiAddress ?? "?") \($0.voter)" } == membersBefore)
            #expect(after.term > termBefore, "a resumed cluster elects in a later term")
            #expect(after.commitIndex >= commitBefore, "the log was not restarted")
            let data = try await eventually("GET /kv after restart") { try await newLeader.client.pairs(prefix: "rs-") }
            #expect(data == Dictionary(uniqueKeysWithValues: (0..<20).map { ("rs-\($0)", "v\($0)") }))
            let next = try await cluster.nodes[0].client.putAcknowledged("rs-next", "after restart")
            #expect(next > lastRevision, "revisions continue after a restart")
            for node in cluster.nodes {
                #expect(node.logTail(lines: 10_000).contains("not bootstrapping again"), "\(node.id) should log that it kept its state")
            }
        }
    }
}
