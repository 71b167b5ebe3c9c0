import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KVStore
import NodeRuntime
import Testing

/// Conditional writes, leases on a put and range deletes (Docs/API.md, "Conditional writes").
@Suite struct ConditionalWriteRouteTests {
    /// Asserts the one 412 shape: `{"error":"revision mismatch","key":k,"revision":current}`.
    static func expectMismatch(_ response: TestResponse, key: String, current: Int, _ label: String) {
        #expect(response.status == .preconditionFailed, "\(label): \(response.status) \(response.text)")
        let body = response.object ?? [:]
        #expect(Set(body.keys) == ["error", "key", "revision"], "\(label): \(response.text)")
        #expect(body["error"] as? String == "revision mismatch", "\(label)")
        #expect(body["key"] as? String == key, "\(label)")
        #expect(body["revision"] as? Int == current, "\(label): \(response.text)")
    }

    static func revision(_ response: TestResponse) throws -> Int {
        try #require(response.object?["revision"] as? Int, "\(response.status) \(response.text)")
    }

    @Test func ifMatchAppliesOnlyAtTheKeysRevisionAndOtherwiseIs412() async throws {
        try await RouteHarness.with { api in
            let r1 = try Self.revision(try await api.request(.put, "/kv/cas", json: ["value": "one"]))
            let etag = try #require(try await api.request(.get, "/kv/cas").headers[.eTag])
            #expect(etag == "\"\(r1)\"")

            let second = try await api.request(.put, "/kv/cas", json: ["value": "two"], headers: [.ifMatch: etag])
            #expect(second.status == .ok, "\(second.text)")
            #expect(Set(second.object?.keys.map { $0 } ?? []) == ["status", "key", "revision"])
            let r2 = try Self.revision(second)
            #expect(r2 > r1)

            Self.expectMismatch(try await api.request(.put, "/kv/cas", json: ["value": "stale"], headers: [.ifMatch: etag]),
                                key: "cas", current: r2, "If-Match with the old revision")
            Self.expectMismatch(try await api.request(.put, "/kv/cas?if_revision=\(r1)", json: ["value": "q"]),
                                key: "cas", current: r2, "if_revision with an old revision")
            #expect(try api.node.localValue("cas") == "two")
            #expect(try await api.request(.put, "/kv/cas?if_revision=\(r2)", json: ["value": "q"]).status == .ok)
            #expect(try api.node.localValue("cas") == "q")

            // Unquoted is accepted; so is a delete with the current revision.
            let current = try Self.revision(try await api.request(.get, "/kv/cas"))
            let unquoted = try await api.request(.put, "/kv/cas", json: ["value": "u"], headers: [.ifMatch: "\(current)"])
            #expect(unquoted.status == .ok, "\(unquoted.text)")
            let now = try Self.revision(unquoted)
            Self.expectMismatch(try await api.request(.delete, "/kv/cas", headers: [.ifMatch: "\"\(current)\""]),
                                key: "cas", current: now, "a delete with an old revision")
            #expect(try api.node.localValue("cas") == "u")
            let deleted = try await api.request(.delete, "/kv/cas", headers: [.ifMatch: "\"\(now)\""])
            #expect(deleted.status == .ok)
            #expect(deleted.object?["deleted"] as? Bool == true)
            #expect(deleted.object?["status"] as? String == "success")
            #expect(try Self.revision(deleted) > now)
            #expect(try api.node.localValue("cas") == nil)

            // An absent key has revision 0: If-Match on it fails with 0, If-Match: * too.
            Self.expectMismatch(try await api.request(.put, "/kv/cas", json: ["value": "x"], headers: [.ifMatch: "\"\(now)\""]),
                                key: "cas", current: 0, "If-Match on an absent key")
            Self.expectMismatch(try await api.request(.put, "/kv/cas", json: ["value": "x"], headers: [.ifMatch: "*"]),
                                key: "cas", current: 0, "If-Match: * on an absent key")
            #expect(try api.node.localValue("cas") == nil)
        }
    }

    @Test func ifNoneMatchStarAndIfRevisionZeroCreateOnlyAnAbsentKey() async throws {
        try await RouteHarness.with { api in
            let created = try await api.request(.put, "/kv/once", json: ["value": "first"], headers: [.ifNoneMatch: "*"])
            #expect(created.status == .ok, "\(created.text)")
            let r1 = try Self.revision(created)
            Self.expectMismatch(try await api.request(.put, "/kv/once", json: ["value": "second"], headers: [.ifNoneMatch: "*"]),
                                key: "once", current: r1, "If-None-Match: * on a present key")
            Self.expectMismatch(try await api.request(.put, "/kv/once?if_revision=0", json: ["value": "second"]),
                                key: "once", current: r1, "if_revision=0 on a present key")
            #expect(try api.node.localValue("once") == "first")
            let zero = try await api.request(.put, "/kv/other?if_revision=0", json: ["value": "new"])
            #expect(zero.status == .ok, "\(zero.text)")
            #expect(try api.node.localValue("other") == "new")
            // If-Match: * needs the key to exist.
            #expect(try await api.request(.put, "/kv/other", json: ["value": "v2"], headers: [.ifMatch: "*"]).status == .ok)
            #expect(try api.node.localValue("other") == "v2")
        }
    }

    @Test func aConditionalWriteRetriedWithItsIdempotencyKeyGetsTheFirstAnswer() async throws {
        try await RouteHarness.with { api in
            let r1 = try Self.revision(try await api.request(.put, "/kv/idem", json: ["value": "a"]))
            let headers: HTTPFields = [.ifMatch: "\"\(r1)\"", .idempotencyKey: "cas-1"]
            let first = try await api.request(.put, "/kv/idem", json: ["value": "b"], headers: headers)
            #expect(first.status == .ok)
            // The key's revision has moved on, so a fresh request would be 412; the retry is not.
            let retry = try await api.request(.put, "/kv/idem", json: ["value": "b"], headers: headers)
            #expect(retry.status == .ok, "\(retry.text)")
            #expect(try Self.revision(retry) == (try Self.revision(first)))
        }
    }

    @Test func badConditionsAre400AndChangeNothing() async throws {
        try await RouteHarness.with { api in
            let cases: [(String, String, HTTPFields)] = [
                ("weak tag", "/kv/b", [.ifMatch: "W/\"3\""]),
                ("two tags", "/kv/b", [.ifMatch: "\"3\", \"4\""]),
                ("a word", "/kv/b", [.ifNoneMatch: "abc"]),
                ("negative if_revision", "/kv/b?if_revision=-1", [:]),
                ("if_revision not a number", "/kv/b?if_revision=x", [:]),
                ("misspelt parameter", "/kv/b?if_revison=0", [:]),
                ("lease not a number", "/kv/b?lease=abc", [:]),
            ]
            for (label, uri, headers) in cases {
                let response = try await api.request(.put, uri, json: ["value": "x"], headers: headers)
                #expect(response.status == .badRequest, "\(label): \(response.status) \(response.text)")
                #expect(response.isErrorDocument, "\(label): \(response.text)")
            }
            let leaseOnDelete = try await api.request(.delete, "/kv/b?lease=5")
            #expect(leaseOnDelete.status == .badRequest, "\(leaseOnDelete.text)")
            #expect(try api.node.localValue("b") == nil)
        }
    }

    @Test func aPutWithALeaseAttachesTheKeyAndAnUnknownLeaseIs404() async throws {
        try await RouteHarness.with { api in
            let granted = try await api.node.runtime.submit(KVCommand(.leaseGrant(ttlSeconds: 600)))
            guard case .lease(let id, _) = granted.detail else {
                Issue.record("no lease in \(granted)")
                return
            }
            let put = try await api.request(.put, "/kv/svc/a?lease=\(id)", json: ["value": "up"])
            #expect(put.status == .ok, "\(put.text)")
            let read = try #require(try await api.request(.get, "/kv/svc/a").object)
            #expect(read["lease"] as? String == String(id))
            // A put without the lease detaches the key.
            _ = try await api.request(.put, "/kv/svc/a", json: ["value": "plain"])
            #expect(try await api.request(.get, "/kv/svc/a").object?["lease"] == nil)

            let unknown = try await api.request(.put, "/kv/svc/b?lease=999999", json: ["value": "x"])
            #expect(unknown.status == .notFound, "\(unknown.text)")
            #expect(unknown.object?["error"] as? String == "lease not found: 999999")
            #expect(try api.node.localValue("svc/b") == nil)
        }
    }

    @Test func deleteWithAPrefixRemovesTheRangeAtOneRevision() async throws {
        try await RouteHarness.with { api in
            for key in ["p/a", "p/b", "p/c/d", "q/a", "p"] {
                _ = try await api.request(.put, "/kv/\(key)", json: ["value": key])
            }
            let response = try await api.request(.delete, "/kv?prefix=p/")
            #expect(response.status == .ok, "\(response.text)")
            let body = try #require(response.object)
            #expect(Set(body.keys) == ["status", "deleted", "revision"])
            #expect(body["status"] as? String == "success")
            #expect(body["deleted"] as? Int == 3)
            let revision = try Self.revision(response)
            #expect(api.node.store.stateMachine.revision >= UInt64(revision))
            for key in ["p/a", "p/b", "p/c/d"] { #expect(try api.node.localValue(key) == nil, "\(key)") }
            #expect(try api.node.localValue("q/a") == "q/a")
            #expect(try api.node.localValue("p") == "p")
            // All three went at one revision: their delete events share it.
            let events = try api.node.store.stateMachine.events(after: UInt64(revision - 1), limit: 10)
            #expect(events.filter { $0.revision == UInt64(revision) }.count == 3)

            let none = try await api.request(.delete, "/kv?prefix=nothing/")
            #expect(none.object?["deleted"] as? Int == 0)
            for uri in ["/kv", "/kv?prefix=", "/kv?prefix=p/&recursive=1", "/kv/"] {
                let refused = try await api.request(.delete, uri)
                #expect(refused.status == .badRequest, "\(uri): \(refused.status) \(refused.text)")
                #expect(refused.isErrorDocument, "\(uri)")
            }
            #expect(try api.node.localValue("q/a") == "q/a")
        }
    }
}
