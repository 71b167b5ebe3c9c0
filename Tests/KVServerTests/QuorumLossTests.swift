import Foundation
import Testing

/// Without a quorum a node answers at once that it cannot serve (503 with Retry-After)
/// rather than hanging or guessing, still serves stale reads, and recovers with a quorum.
@Suite("Quorum loss")
struct QuorumLossTests {
    @Test("two of three down: writes and linearizable reads get 503 + Retry-After, stale reads 200; one back: writes succeed")
    func twoOfThreeDown() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            try await leader.client.putAcknowledged("q", "before")
            // The survivor (the leader itself) must have applied the value before the others go.
            let survivor = leader.client
            let downed = cluster.followers(of: leader)
            for node in downed { try await node.kill9() }

            // The leader may or may not have stepped down yet; either way no quorum answers.
            let write = try await survivor.put("q", "during")
            #expect(write.status == 503, "PUT without quorum: \(write)")
            #expect(write.header("Retry-After") != nil, "503 carries Retry-After")
            let read = try await survivor.get("q")
            #expect(read.status == 503, "linearizable GET without quorum: \(read)")
            #expect(read.header("Retry-After") != nil, "503 carries Retry-After")
            let list = try await survivor.list("prefix=q")
            #expect(list.status == 503, "linearizable GET /kv without quorum: \(list)")
            let stale = try await survivor.get("q", stale: true)
            #expect(stale.status == 200, "stale GET: \(stale)")
            #expect(stale.object?["value"] as? String == "before")

            try downed[0].start()
            try await survivor.putAcknowledged("q", "after")
            let back = try await downed[0].client.linearizableGet("q")
            #expect(back.object?["value"] as? String == "after", "\(back)")
        }
    }
}
