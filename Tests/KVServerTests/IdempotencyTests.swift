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
}
