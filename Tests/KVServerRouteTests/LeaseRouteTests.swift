import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KVStore
@testable import KVServer
import NodeRuntime
import RuntimeTestSupport
import Testing

/// `/lease` and `POST /compact` as Docs/API.md ("Leases", "History and compaction") specify them.
@Suite struct LeaseRouteTests {
    @Test func grantShowListKeepAliveAndRevokeAnswerWithTheDocumentedBodies() async throws {
        try await RouteHarness.with { api in
            let granted = try await api.request(.post, "/lease", json: ["ttl_seconds": 60])
            #expect(granted.status == .ok, "\(granted.text)")
            let grant = try #require(granted.object)
            #expect(Set(grant.keys) == ["id", "ttl_seconds", "revision"])
            let id = try #require(grant["id"] as? String)
            #expect(UInt64(id) != nil, "ids are decimal strings: \(id)")
            #expect(grant["ttl_seconds"] as? Int == 60)
            #expect(grant["revision"] as? Int == Int(id), "a lease id is its grant's log index")

            try await Self.attach(["lk/b", "lk/a"], to: id, on: api.node)
            let shown = try await api.request(.get, "/lease/\(id)")
            #expect(shown.status == .ok, "\(shown.text)")
            let lease = try #require(shown.object)
            #expect(Set(lease.keys) == ["id", "ttl_seconds", "remaining_seconds", "keys"])
            #expect(lease["id"] as? String == id)
            #expect(lease["ttl_seconds"] as? Int == 60)
            #expect((lease["remaining_seconds"] as? Int).map { (1...60).contains($0) } == true, "\(shown.text)")
            #expect(lease["keys"] as? [String] == ["lk/a", "lk/b"])
            #expect(try await api.request(.get, "/lease/\(id)?consistency=stale").status == .ok)

            let listed = try #require(try await api.request(.get, "/lease").object?["leases"] as? [[String: Any]])
            #expect(listed.count == 1)
            #expect(listed.first?["id"] as? String == id)
            #expect(listed.first.map { Set($0.keys) } == ["id", "ttl_seconds", "remaining_seconds"])

            // A keepalive has no body, but as every POST it must say it is JSON (the cross-site rule).
            let kept = try await api.request(.post, "/lease/\(id)/keepalive", headers: Self.json)
            #expect(kept.status == .ok, "\(kept.text)")
            let keepalive = try #require(kept.object)
            #expect(Set(keepalive.keys) == ["id", "ttl_seconds", "remaining_seconds"])
            #expect(keepalive["id"] as? String == id)
            #expect(keepalive["ttl_seconds"] as? Int == 60 && keepalive["remaining_seconds"] as? Int == 60)

            let revoked = try await api.request(.delete, "/lease/\(id)")
            #expect(revoked.status == .ok, "\(revoked.text)")
            let revocation = try #require(revoked.object)
            #expect(Set(revocation.keys) == ["status", "id", "deleted", "revision"])
            #expect(revocation["status"] as? String == "success" && revocation["id"] as? String == id)
            #expect(revocation["deleted"] as? Int == 2)
            #expect((revocation["revision"] as? Int).map { $0 > Int(id) ?? 0 } == true)
            #expect(try api.node.store.stateMachine.get("lk/a") == nil && api.node.store.stateMachine.get("lk/b") == nil)
            let deletes = try api.node.store.stateMachine.events(after: UInt64(id) ?? 0, limit: 100).filter { $0.kind == .delete }
            #expect(deletes.count == 2 && !deletes.contains { $0.expired }, "a revocation is not an expiry")

            for (method, uri) in [(HTTPRequest.Method.get, "/lease/\(id)"), (.post, "/lease/\(id)/keepalive"), (.delete, "/lease/\(id)")] {
                let gone = try await api.request(method, uri, headers: Self.json)
                #expect(gone.status == .notFound, "\(method) \(uri)")
                #expect(gone.object?["error"] as? String == "lease not found: \(id)", "\(gone.text)")
            }
            #expect((try await api.request(.get, "/lease").object?["leases"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func aLeaseNobodyKeepsAliveExpiresAndTakesItsKeys() async throws {
        try await RouteHarness.with { api in
            let minimum = api.node.runtime.config.minimumLeaseSeconds
            // The shortest lease can run out before the key is attached when the machine is
            // busy: then the attach is refused (the lease is gone), and a new lease is taken.
            let id = try await eventually("a lease with a key attached") { () async throws -> String? in
                let granted = try await api.request(.post, "/lease", json: ["ttl_seconds": minimum])
                let id = try #require(granted.object?["id"] as? String, "\(granted.text)")
                do {
                    try await Self.attach(["exp/k"], to: id, on: api.node)
                    return id
                } catch RuntimeError.notFound {
                    return nil
                }
            }
            try await eventually("the lease to expire") { () async throws -> Bool? in
                try await api.request(.get, "/lease/\(id)").status == .notFound ? true : nil
            }
            #expect(try api.node.store.stateMachine.get("exp/k") == nil)
            let deletes = try api.node.store.stateMachine.events(after: UInt64(id) ?? 0, limit: 10).filter { $0.kind == .delete }
            #expect(deletes.map(\.record.key) == ["exp/k"] && deletes.allSatisfy { $0.expired })
        }
    }

    @Test func badLeaseRequestsAre400WithTheLimitsNamed() async throws {
        try await RouteHarness.with { api in
            let minimum = api.node.runtime.config.minimumLeaseSeconds
            let tooShort = try await api.request(.post, "/lease", json: ["ttl_seconds": minimum - 1])
            #expect(tooShort.status == .badRequest)
            #expect((tooShort.object?["error"] as? String)?.contains("at least \(minimum)") == true, "\(tooShort.text)")
            let tooLong = try await api.request(.post, "/lease", json: ["ttl_seconds": 31_536_001])
            #expect(tooLong.status == .badRequest)
            #expect((tooLong.object?["error"] as? String)?.contains("31536000") == true, "\(tooLong.text)")
            let bodies = [#"{"ttl_seconds":-5}"#, #"{"ttl_seconds":10.5}"#, #"{"ttl_seconds":"10"}"#, #"{"ttl_seconds":true}"#,
                          #"{"ttl_seconds":null}"#, #"{"ttl":10}"#, "{}", "[10]", "10", "not json", #"{"ttl_seconds":99999999999999999999}"#,
                          #"{"ttl_seconds":10,"tll_seconds":20}"#]
            for body in bodies {
                let reply = try await api.request(.post, "/lease", raw: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status) \(reply.text)")
                #expect(reply.isErrorDocument, "\(body): \(reply.text)")
            }
            let empty = try await api.request(.post, "/lease", raw: "")
            #expect(empty.status == .badRequest && empty.isErrorDocument)
            let huge = try await api.request(.post, "/lease", raw: #"{"ttl_seconds":10,"pad":""# + String(repeating: "x", count: 8 << 10) + #""}"#)
            #expect(huge.status == .contentTooLarge)

            for id in ["abc", "-1", "1.5", "0x10", "99999999999999999999999"] {
                for (method, uri) in [(HTTPRequest.Method.get, "/lease/\(id)"), (.post, "/lease/\(id)/keepalive"), (.delete, "/lease/\(id)")] {
                    let reply = try await api.request(method, uri, headers: Self.json)
                    #expect(reply.status == .badRequest, "\(method) \(uri): \(reply.status)")
                    #expect(reply.isErrorDocument)
                }
            }
            let unknown = try await api.request(.get, "/lease/424242")
            #expect(unknown.status == .notFound && unknown.object?["error"] as? String == "lease not found: 424242")
            #expect(try await api.request(.get, "/lease?consistency=eventual").status == .badRequest)
        }
    }

    @Test func compactForgetsHistoryThroughTheRevisionAndRefusesWhatItCannot() async throws {
        try await RouteHarness.with { api in
            var revisions: [Int] = []
            for i in 0..<5 {
                let put = try await api.request(.put, "/kv/c\(i)", json: ["value": "\(i)"])
                revisions.append(try #require(put.object?["revision"] as? Int))
            }
            let through = revisions[2]
            let compacted = try await api.request(.post, "/compact", json: ["revision": through])
            #expect(compacted.status == .ok, "\(compacted.text)")
            let answer = try #require(compacted.object)
            #expect(Set(answer.keys) == ["compact_revision", "revision"])
            #expect(answer["compact_revision"] as? Int == through)
            #expect((answer["revision"] as? Int).map { $0 > revisions[4] } == true)
            #expect(try api.node.store.stateMachine.compactRevision() == UInt64(through))
            #expect(try api.node.store.stateMachine.events(after: UInt64(through), limit: 10).map(\.record.key) == ["c3", "c4"])

            for again in [through, through - 1, 0] {
                let reply = try await api.request(.post, "/compact", json: ["revision": again])
                #expect(reply.status == .gone, "\(again): \(reply.text)")
                #expect(reply.object?["error"] as? String == "compacted")
                #expect(reply.object?["compact_revision"] as? Int == through)
            }
            let future = try await api.request(.post, "/compact", json: ["revision": 1_000_000])
            #expect(future.status == .badRequest && future.isErrorDocument, "\(future.text)")
            for body in [#"{"revision":-1}"#, #"{"revision":"5"}"#, "{}", "[]", "nope"] {
                let reply = try await api.request(.post, "/compact", raw: body)
                #expect(reply.status == .badRequest && reply.isErrorDocument, "\(body): \(reply.text)")
            }
        }
    }

    @Test func theCrossSiteRuleCoversTheLeaseAndCompactRoutes() async throws {
        try await RouteHarness.with { api in
            let granted = try await api.request(.post, "/lease", json: ["ttl_seconds": 60])
            let id = try #require(granted.object?["id"] as? String)
            let foreign: HTTPFields = [.origin: "http://evil.example"]
            for (method, uri, json) in [(HTTPRequest.Method.post, "/lease", ["ttl_seconds": 60]), (.post, "/lease/\(id)/keepalive", nil),
                                        (.delete, "/lease/\(id)", nil), (.post, "/compact", ["revision": 1])] as [(HTTPRequest.Method, String, [String: Any]?)] {
                let reply = try await api.request(method, uri, json: json, headers: foreign)
                #expect(reply.status == .forbidden, "\(method) \(uri): \(reply.status)")
            }
            for uri in ["/lease", "/lease/\(id)/keepalive", "/compact"] {
                let reply = try await api.request(.post, uri, raw: #"{"ttl_seconds":60}"#, headers: [.contentType: "text/plain"])
                #expect(reply.status == .unsupportedMediaType, "\(uri): \(reply.status)")
            }
            // Nothing was revoked or granted by those.
            #expect(try api.node.store.stateMachine.leases().map(\.id) == [UInt64(id) ?? 0])
        }
    }

    @Test func leasesNeedAWriteRoleRevokingNeedsEachKeyAndCompactingNeedsAdmin() async throws {
        try await AuthRouteTests.withAuth { api, _, _ in
            #expect(try await api.request(.post, "/lease", json: ["ttl_seconds": 60]).status == .unauthorized)
            let readOnly = try await api.request(.post, "/lease", json: ["ttl_seconds": 60], headers: AuthRouteTests.basic("reader"))
            #expect(readOnly.status == .forbidden, "\(readOnly.text)")
            let granted = try await api.request(.post, "/lease", json: ["ttl_seconds": 60], headers: AuthRouteTests.basic("app"))
            #expect(granted.status == .ok, "\(granted.text)")
            let id = try #require(granted.object?["id"] as? String)
            let keepalive: (String) async throws -> HTTPResponse.Status = { user in
                var headers = AuthRouteTests.basic(user)
                headers[.contentType] = "application/json"
                return try await api.request(.post, "/lease/\(id)/keepalive", headers: headers).status
            }
            #expect(try await keepalive("app") == .ok)
            #expect(try await keepalive("reader") == .forbidden)

            // A key app may not write is attached (by someone who may): app may not revoke the
            // lease, since that would delete it; and app's view of the lease leaves it out.
            try await Self.attach(["app/mine", "logs/theirs"], to: id, on: api.node)
            let shown = try await api.request(.get, "/lease/\(id)", headers: AuthRouteTests.basic("app"))
            #expect(shown.object?["keys"] as? [String] == ["app/mine"], "\(shown.text)")
            let refused = try await api.request(.delete, "/lease/\(id)", headers: AuthRouteTests.basic("app"))
            #expect(refused.status == .forbidden, "\(refused.text)")
            #expect(try api.node.store.stateMachine.lease(UInt64(id) ?? 0) != nil)
            let revoked = try await api.request(.delete, "/lease/\(id)", headers: AuthRouteTests.basic("ops"))
            #expect(revoked.status == .ok && revoked.object?["deleted"] as? Int == 2, "\(revoked.text)")

            for user in ["app", "reader", "writer"] {
                let reply = try await api.request(.post, "/compact", json: ["revision": 1], headers: AuthRouteTests.basic(user))
                #expect(reply.status == .forbidden, "\(user): \(reply.text)")
            }
            #expect(try api.node.store.stateMachine.compactRevision() == 0)
            let admin = try await api.request(.post, "/compact", json: ["revision": 1], headers: AuthRouteTests.basic("ops"))
            #expect(admin.status == .ok, "\(admin.text)")
        }
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    /// Attaches `keys` to lease `id` through the runtime (a transaction's puts), so these
    /// tests need no other route than their own.
    static func attach(_ keys: [String], to id: String, on node: RuntimeNode) async throws {
        let lease = try #require(UInt64(id))
        let puts = keys.map { TxnOperation.put(key: $0, value: Array("v".utf8), lease: lease) }
        _ = try await node.runtime.submit(KVCommand(.txn(TxnRequest(compare: [], success: puts, failure: []))))
    }
}
