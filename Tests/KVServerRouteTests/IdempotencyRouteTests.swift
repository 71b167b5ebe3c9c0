import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `Idempotency-Key` on PUT and DELETE (Docs/API.md, "Idempotency-Key").
@Suite struct IdempotencyRouteTests {
    @Test func aRetryReturnsTheFirstAnswerAndAppliesNothing() async throws {
        try await RouteHarness.with { api in
            let key: HTTPFields = [.idempotencyKey: UUID().uuidString]
            let first = try await api.request(.put, "/kv/once", json: ["value": "v1"], headers: key)
            #expect(first.status == .ok)
            let revision = try #require(first.object?["revision"] as? Int)

            // Another write to the key in between: a retry must not put v1 back.
            let other = try await api.request(.put, "/kv/once", json: ["value": "v2"])
            let otherRevision = try #require(other.object?["revision"] as? Int)

            let retry = try await api.request(.put, "/kv/once", json: ["value": "v1"], headers: key)
            #expect(retry.status == .ok)
            #expect(retry.object?["revision"] as? Int == revision)
            let read = try await api.request(.get, "/kv/once")
            #expect(read.object?["value"] as? String == "v2")
            #expect(read.object?["revision"] as? Int == otherRevision)

            let reused = try await api.request(.put, "/kv/once", json: ["value": "v3"], headers: key)
            #expect(reused.status == .unprocessableContent)
            #expect(reused.isErrorDocument)
            let reusedForDelete = try await api.request(.delete, "/kv/once", headers: key)
            #expect(reusedForDelete.status == .unprocessableContent)
            #expect(try api.node.localValue("once") == "v2")
        }
    }

    @Test func aRetriedDeleteKeepsItsFirstAnswer() async throws {
        try await RouteHarness.with { api in
            _ = try await api.request(.put, "/kv/doomed", json: ["value": "x"])
            let key: HTTPFields = [.idempotencyKey: UUID().uuidString]
            let first = try await api.request(.delete, "/kv/doomed", headers: key)
            #expect(first.object?["deleted"] as? Bool == true)
            let revision = try #require(first.object?["revision"] as? Int)
            let retry = try await api.request(.delete, "/kv/doomed", headers: key)
            #expect(retry.status == .ok)
            #expect(retry.object?["deleted"] as? Bool == true)
            #expect(retry.object?["revision"] as? Int == revision)
        }
    }
}
