import Foundation
import HTTPTestSupport
import Testing

/// A node joins a running cluster whose log was compacted, so it can only catch up from
/// a snapshot, and is removed again; both calls go through a follower and its 307.
@Suite("Join and remove")
struct MembershipTests {
    @Test("a fourth node joins via a follower after compaction, gets a snapshot, becomes a voter, and is removed")
    func joinAfterCompactionThenRemove() async throws {
        try await TestCluster.with(size: 3, arguments: ["--snapshot-entries", "20", "--history-revisions", "10"]) { cluster in
            let leader = try await cluster.leader()
            for i in 0..<100 {
                try await leader.client.putAcknowledged(String(format: "mb-%03d", i), "v\(i)")
            }
            try await eventually("the leader to compact its log") { () -> Bool? in
                try await leader.client.status().firstIndex > 1 ? true : nil
            }
            let follower = try #require(cluster.followers(of: leader).first)

            let joiner = try cluster.startJoiner(id: "node4", via: follower)
            try await eventually("node4 to be a voter in the leader's view") { () -> Bool? in
                let status = try await leader.client.status()
                return status.members.contains { $0.id == "node4" && $0.voter } ? true : nil
            }
            let joinerStatus = try await joiner.client.status()
            #expect(joinerStatus.firstIndex > 1, "node4's log starts after a snapshot, not at index 1")
            #expect(joinerStatus.isMember)
            let copied = try await eventually("node4 to hold the old keys") { () -> [String: String]? in
                let pairs = try await joiner.client.pairs(prefix: "mb-", stale: true)
                return pairs.count == 100 ? pairs : nil
            }
            #expect(copied["mb-000"] == "v0" && copied["mb-099"] == "v99")

            // On a loaded machine leadership may have moved since the writes: ask who leads now,
            // and send the removal to a follower of that leader.
            let current = try await cluster.leader(among: cluster.nodes.filter { $0.id != "node4" })
            let asked = try #require(cluster.followers(of: current).first { $0.id != "node4" })
            let redirect = try await asked.client.post("/cluster/remove", ["id": "node4"])
            try #require(redirect.status == 307, "a follower redirects membership changes: \(redirect)")
            let location = try #require(redirect.header("Location"))
            #expect(location.contains(current.apiAddress), "307 points at the leader: \(location)")
            let removed = try await HTTP.send("POST", location, body: HTTP.json(["id": "node4"]))
            #expect(removed.status == 200, "remove at the leader: \(removed)")

            let after = try await current.client.status()
            #expect(!after.members.contains { $0.id == "node4" }, "\(after.members)")
            for node in cluster.nodes where node.id != "node4" {
                try await node.client.putAcknowledged("mb-after-\(node.id)", "ok")
            }
        }
    }
}
