import Foundation
import Testing

/// Losing the leader to `kill -9` loses no acknowledged write, and the killed node comes
/// back and catches up.
@Suite("Leader failover")
struct FailoverTests {
    @Test("after kill -9 of the leader a new leader serves writes, no acknowledged write is lost, the old leader catches up")
    func killLeader() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let oldLeader = try await cluster.leader()
            let oldTerm = try await oldLeader.client.status().term
            let writer = try #require(cluster.followers(of: oldLeader).first)
            var acknowledged: [String: String] = [:]
            for i in 0..<50 {
                let key = String(format: "fo-%03d", i)
                try await writer.client.putAcknowledged(key, "before-\(i)")
                acknowledged[key] = "before-\(i)"
            }

            try await oldLeader.kill9()
            let newLeader = try await cluster.leader(newerThan: oldTerm)
            #expect(newLeader.id != oldLeader.id)
            for i in 50..<70 {
                let key = String(format: "fo-%03d", i)
                try await writer.client.putAcknowledged(key, "after-\(i)")
                acknowledged[key] = "after-\(i)"
            }
            // Overwrite one of the early keys so "latest" differs from what the old leader had.
            try await newLeader.client.putAcknowledged("fo-000", "overwritten")
            acknowledged["fo-000"] = "overwritten"

            for node in cluster.followers(of: oldLeader) {
                let pairs = try await eventually("a linearizable GET /kv on \(node.id)") { try await node.client.pairs(prefix: "fo-") }
                #expect(pairs == acknowledged, "\(node.id) lost or changed acknowledged writes")
            }
            let single = try await newLeader.client.linearizableGet("fo-069")
            #expect(single.object?["value"] as? String == "after-69")

            try oldLeader.start()
            let caughtUp = try await eventually("\(oldLeader.id) to catch up (stale reads)") { () -> [String: String]? in
                let pairs = try await oldLeader.client.pairs(prefix: "fo-", stale: true)
                return pairs == acknowledged ? pairs : nil
            }
            #expect(caughtUp == acknowledged)
        }
    }
}
