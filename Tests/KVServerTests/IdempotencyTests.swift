import Foundation
import Testing

/// `Idempotency-Key` makes a retried write safe: the repeat returns the first answer and
/// changes nothing.
@Suite("Idempotency-Key")
struct IdempotencyTests {
    @Test("a repeated PUT returns the same revision and applies once; a repeated DELETE returns deleted:true")
    func repeatedRequests() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let client = try await cluster.leader().client

            let first = try await client.put("idem", "one", idempotencyKey: "put-1")
            try #require(first.status == 200, "\(first)")
            let revision = try #require(first.object?["revision"] as? Int)
            // Someone else writes in between; a retry of the first PUT must not undo it.
            let other = try await client.put("idem", "two")
            try #require(other.status == 200, "\(other)")
            let retry = try await client.put("idem", "one", idempotencyKey: "put-1")
            #expect(retry.status == 200, "\(retry)")
            #expect(retry.object?["revision"] as? Int == revision, "the retry reports the original revision")
            let current = try await client.get("idem")
            #expect(current.object?["value"] as? String == "two", "the retry was not applied again: \(current)")
            #expect(current.object?["revision"] as? Int == other.object?["revision"] as? Int)

            let delete = try await client.delete("idem", idempotencyKey: "del-1")
            #expect(delete.object?["deleted"] as? Bool == true, "\(delete)")
            let deleteAgain = try await client.delete("idem", idempotencyKey: "del-1")
            #expect(deleteAgain.status == 200, "\(deleteAgain)")
            #expect(deleteAgain.object?["deleted"] as? Bool == true, "the retry returns the original answer: \(deleteAgain)")
            let plainDelete = try await client.delete("idem")
            #expect(plainDelete.object?["deleted"] as? Bool == false, "without the header a second DELETE finds nothing")
        }
    }

    @Test("a reused key with another request is 422 on the leader and through a follower; an evicted key is 409; neither applies")
    func reusedAndEvictedKeys() async throws {
        // Two answers kept: the third key evicts the first.
        try await TestCluster.with(size: 3, arguments: ["--idempotency-results", "2"]) { cluster in
            let leader = try await cluster.leader()
            let follower = try #require(cluster.followers(of: leader).first)
            let first = try await leader.client.put("reuse", "one", idempotencyKey: "k-1")
            try #require(first.status == 200, "\(first)")
            let revision = try #require(first.object?["revision"] as? Int)

            let mismatches = [
                ("another value", try await leader.client.put("reuse", "two", idempotencyKey: "k-1")),
                ("another key", try await leader.client.put("reuse-other", "one", idempotencyKey: "k-1")),
                ("another method", try await leader.client.delete("reuse", idempotencyKey: "k-1")),
                ("forwarded by a follower", try await follower.client.put("reuse", "three", idempotencyKey: "k-1")),
            ]
            for (what, reply) in mismatches {
                #expect(reply.status == 422, "\(what): \(reply)")
                #expect(reply.text == #"{"error":"Idempotency-Key reused with a different request"}"#, "\(what): \(reply)")
            }
            let retry = try await follower.client.put("reuse", "one", idempotencyKey: "k-1")
            #expect(retry.status == 200, "\(retry)")
            #expect(retry.object?["revision"] as? Int == revision, "the retry returns the first answer")
            let current = try await leader.client.get("reuse")
            #expect(current.object?["value"] as? String == "one", "no refused request was applied: \(current)")
            #expect(current.object?["revision"] as? Int == revision)
            #expect(try await leader.client.get("reuse-other").status == 404)

            for key in ["k-2", "k-3"] {
                let reply = try await leader.client.put("reuse-\(key)", "x", idempotencyKey: key)
                try #require(reply.status == 200, "\(reply)")
            }
            let evicted = try await leader.client.put("reuse", "one", idempotencyKey: "k-1")
            #expect(evicted.status == 409, "k-1's answer was evicted: \(evicted)")
            let unchanged = try await leader.client.get("reuse")
            #expect(unchanged.object?["revision"] as? Int == revision, "the late retry was not applied again: \(unchanged)")
        }
    }
}
