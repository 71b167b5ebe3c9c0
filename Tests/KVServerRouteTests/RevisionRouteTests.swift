import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KVStore
import NodeRuntime
import Testing

/// Revisions on reads and on every answer, and reads of a key's past (Docs/API.md, "Revisions").
@Suite struct RevisionRouteTests {
    static let storeRevision = HTTPField.Name("X-KV-Revision")!

    @Test func getAnswersTheKeysRevisionsAndEveryAnswerCarriesTheStoreRevision() async throws {
        try await RouteHarness.with { api in
            let r1 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/life", json: ["value": "a"]))
            _ = try await api.request(.put, "/kv/life", json: ["value": "b"])
            let r3 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/life", json: ["value": "c"]))
            let get = try await api.request(.get, "/kv/life")
            let body = try #require(get.object)
            #expect(body["revision"] as? Int == r3)
            #expect(body["create_revision"] as? Int == r1)
            #expect(body["version"] as? Int == 3)
            #expect(body["lease"] == nil)
            #expect(get.headers[.eTag] == "\"\(r3)\"")

            // Every answer of the routes, successes and failures alike, carries X-KV-Revision,
            // at least the revision the answer reflects.
            let answers: [(String, TestResponse)] = [
                ("get", get),
                ("missing key", try await api.request(.get, "/kv/none")),
                ("list", try await api.request(.get, "/kv?prefix=l")),
                ("health", try await api.request(.get, "/health")),
                ("unknown endpoint", try await api.request(.get, "/nowhere")),
                ("bad key", try await api.request(.put, "/kv/" + String(repeating: "k", count: 600), json: ["value": "x"])),
                ("cross-site refusal", try await api.request(.put, "/kv/x", json: ["value": "x"], headers: [.origin: "http://evil.example"])),
                ("txn", try await api.request(.post, "/txn", json: ["success": [["op": "get", "key": "life"]]])),
            ]
            for (label, response) in answers {
                let header = try #require(response.headers[Self.storeRevision], "\(label): \(response.headers)")
                let served = try #require(UInt64(header), "\(label): \(header)")
                #expect(served >= UInt64(r3), "\(label): \(served) < \(r3)")
                #expect(served <= api.node.runtime.answerRevision(), "\(label)")
            }
        }
    }

    @Test func getAtARevisionReadsTheKeyAsItWasThen() async throws {
        try await RouteHarness.with { api in
            let r1 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/h", json: ["value": "one"]))
            let r2 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/h", json: ["value": "two"]))
            let r3 = try ConditionalWriteRouteTests.revision(try await api.request(.delete, "/kv/h"))
            let r4 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/h", json: ["value": "again"]))

            let atR1 = try await api.request(.get, "/kv/h?revision=\(r1)")
            #expect(atR1.status == .ok, "\(atR1.text)")
            #expect(atR1.object?["value"] as? String == "one")
            #expect(atR1.object?["revision"] as? Int == r1)
            #expect(atR1.object?["version"] as? Int == 1)
            #expect(atR1.headers[.eTag] == "\"\(r1)\"")
            for uri in ["/kv/h?revision=\(r2)", "/kv/h?revision=\(r3 - 1)&consistency=stale"] {
                let response = try await api.request(.get, uri)
                #expect(response.object?["value"] as? String == "two", "\(uri): \(response.text)")
                #expect(response.object?["create_revision"] as? Int == r1, "\(uri)")
                #expect(response.object?["version"] as? Int == 2, "\(uri)")
            }
            let deleted = try await api.request(.get, "/kv/h?revision=\(r3)")
            #expect(deleted.status == .notFound, "\(deleted.text)")
            #expect(deleted.isErrorDocument)
            let before = try await api.request(.get, "/kv/h?revision=\(r1 - 1)")
            #expect(before.status == .notFound, "\(before.text)")
            let recreated = try await api.request(.get, "/kv/h?revision=\(r4)")
            #expect(recreated.object?["value"] as? String == "again")
            #expect(recreated.object?["create_revision"] as? Int == r4)
            #expect(recreated.object?["version"] as? Int == 1)

            let future = try await api.request(.get, "/kv/h?revision=\(api.node.store.stateMachine.revision + 100)")
            #expect(future.status == .badRequest, "\(future.text)")
            #expect(future.isErrorDocument)
            for bad in ["x", "-1", ""] {
                let response = try await api.request(.get, "/kv/h?revision=\(bad)")
                #expect(response.status == .badRequest, "revision=\(bad): \(response.text)")
            }

            // Once compacted, the past is gone: 410 with the compact revision.
            _ = try await api.node.runtime.submit(KVCommand(.compact(revision: UInt64(r2))))
            let gone = try await api.request(.get, "/kv/h?revision=\(r1)")
            #expect(gone.status == .gone, "\(gone.text)")
            #expect(gone.object?["error"] as? String == "compacted")
            #expect(gone.object?["compact_revision"] as? Int == r2)
            // Past the compact revision it still answers.
            #expect(try await api.request(.get, "/kv/h?revision=\(r4)").status == .ok)
        }
    }
}
