import Foundation
import HTTPTestSupport
import Testing

/// Issue 19's server side over real processes: a backup of a cluster under load restored
/// into a fresh cluster on other ports with every key and revision, and leadership moved to
/// each voter in turn and refused for a learner.
@Suite struct BackupRestoreClusterTests {
    @Test func aBackupTakenUnderLoadRestoresIntoANewClusterWithEveryKeyAndRevision() async throws {
        try await TestCluster.with(size: 3) { source in
            let leader = try await source.leader()
            let lines = (0..<500).map { "{\"key\":\"pre/\($0)\",\"value\":\"value \($0)\"}" }.joined(separator: "\n")
            // An import is not one transaction: one whose batch met a leader change (503 on a
            // loaded machine) is sent again whole, which writes the same values again.
            let imported = try await eventually("the import to be applied whole", timeout: .seconds(60)) { () async throws -> HTTPReply? in
                let reply = try await HTTP.send("POST", "http://\(leader.apiAddress)/import", body: Data(lines.utf8))
                return reply.status == 503 ? nil : reply
            }
            #expect(imported.status == 200, "\(imported)")
            #expect(imported.object?["imported"] as? Int == 500)

            let writer = BackgroundWriter.start(leader.client, prefix: "load/")
            try await writer.wait(forCount: 10)
            let before = writer.count
            let follower = try #require(source.followers(of: leader).first)
            let backup = try await HTTP.send("GET", "http://\(follower.apiAddress)/snapshot", timeout: .seconds(60))
            try #require(backup.status == 200, "\(backup)")
            let revision = try #require(backup.header("X-KV-Revision").flatMap(Int.init))
            let writes = try await writer.stop()
            #expect(writes.count > before)
            for write in writes.prefix(before) {
                #expect(write.revision <= revision, "a write acknowledged before the backup began is in it: \(write)")
            }
            let file = source.root.appendingPathComponent("backup.snap")
            try backup.body.write(to: file)

            // Three new members on ports of their own, seeded offline, started without --bootstrap.
            let restored = try (1...3).map { try source.makeNode(id: "r\($0)") }
            let peers = restored.map(\.peerEntry).joined(separator: ",")
            for node in restored {
                let output = try Self.run(try NodeProcess.binary(), ["restore", "--snapshot", file.path, "--data-dir",
                                                                     node.dataDirectory.path, "--id", node.id, "--peers", peers])
                #expect(output.status == 0, "\(output.text)")
                #expect(output.text.contains("restored revision \(revision) ("), "\(output.text)")
            }
            let clusterIDs = Set(try restored.map {
                try String(contentsOf: $0.dataDirectory.appendingPathComponent("cluster-id"), encoding: .utf8)
            })
            #expect(clusterIDs.count == 1, "every member restored from one file with one member list agrees")
            #expect(clusterIDs.first?.hasPrefix("kv-") == true)
            try restored.forEach { try $0.start() }
            let newLeader = try await source.leader(among: restored)

            // Every key the source held at the backup's revision, with its revisions.
            let keys = Set((0..<500).map { "pre/\($0)" } + writes.map(\.key))
            for key in keys.sorted() {
                let old = try await leader.client.get("\(key)?revision=\(revision)")
                let new = try await newLeader.client.get(key)
                #expect(new.status == old.status, "\(key): \(new) against \(old)")
                guard old.status == 200 else { continue }
                for field in ["value", "revision", "create_revision", "version"] {
                    #expect(String(describing: new.object?[field] ?? "none") == String(describing: old.object?[field] ?? "none"),
                            "\(key).\(field)")
                }
            }
            // The new cluster goes on from there: revisions continue past the backup's.
            let next = try await newLeader.client.putAcknowledged("after-restore", "yes")
            #expect(next > UInt64(revision))
            let status = try await newLeader.client.status()
            #expect(status.members.map(\.id) == ["r1", "r2", "r3"])
        }
    }

    @Test func leadershipMovesToEachVoterAndALearnerIsRefused() async throws {
        try await TestCluster.with(size: 3) { cluster in
            var leader = try await cluster.leader()
            for target in cluster.nodes.map(\.id) where target != leader.id {
                // Asked through a follower: the 307 names the leader, which answers once the target leads.
                let asked = try #require(cluster.followers(of: leader).first)
                var reply = try await asked.client.post("/cluster/transfer-leader", ["to": target])
                if reply.status == 307, let location = reply.header("Location") {
                    reply = try await HTTP.send("POST", location, body: HTTP.json(["to": target]))
                }
                #expect(reply.status == 200, "\(reply)")
                #expect(reply.object?["leader"] as? String == target)
                leader = try await cluster.leader()
                #expect(leader.id == target)
                try await leader.client.putAcknowledged("led-by-\(target)", "yes")
            }

            // A node that joins and is never started stays a learner.
            let learner = try cluster.makeNode(id: "node4")
            let joined = try await leader.client.post("/cluster/join", ["id": learner.id, "raft_addr": learner.raftAddress,
                                                                          "api_addr": learner.apiAddress])
            #expect(joined.status == 200, "\(joined)")
            let refused = try await leader.client.post("/cluster/transfer-leader", ["to": "node4"])
            #expect(refused.status == 409, "\(refused)")
            #expect((refused.object?["error"] as? String)?.contains("learner") == true)
            #expect(try await leader.client.post("/cluster/transfer-leader", ["to": "node9"]).status == 404)
            #expect(try await cluster.leader().id == leader.id, "a refusal moves nothing")
        }
    }

    private static func run(_ binary: URL, _ arguments: [String]) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
