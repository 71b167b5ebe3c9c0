import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /txn` (Docs/API.md, "Transactions").
@Suite struct TxnRouteTests {
    @Test func theSuccessBranchAppliesAtOneRevisionAndAGetSeesAnEarlierPut() async throws {
        try await RouteHarness.with { api in
            let r1 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/from", json: ["value": "10"]))
            _ = try await api.request(.put, "/kv/old/1", json: ["value": "x"])
            _ = try await api.request(.put, "/kv/old/2", json: ["value": "y"])
            let response = try await api.request(.post, "/txn", json: [
                "compare": [["key": "from", "target": "revision", "op": "==", "value": r1],
                            ["key": "from", "target": "value", "op": "==", "value": "10"],
                            ["key": "to", "target": "version", "op": "==", "value": 0]],
                "success": [["op": "put", "key": "to", "value": "10"],
                            ["op": "get", "key": "to"],
                            ["op": "delete", "key": "from"],
                            ["op": "get", "key": "from"],
                            ["op": "delete_prefix", "prefix": "old/"],
                            ["op": "delete", "key": "never"]],
                "failure": [["op": "get", "key": "from"]],
            ])
            #expect(response.status == .ok, "\(response.text)")
            let body = try #require(response.object)
            #expect(Set(body.keys) == ["succeeded", "revision", "results"])
            #expect(body["succeeded"] as? Bool == true)
            let revision = try #require(body["revision"] as? Int)
            let results = try #require(body["results"] as? [[String: Any]])
            try #require(results.count == 6)
            #expect(results[0]["op"] as? String == "put")
            #expect(results[0]["key"] as? String == "to")
            #expect(results[0]["revision"] as? Int == revision)
            // The get after the put sees it, at the transaction's revision.
            #expect(results[1]["op"] as? String == "get")
            #expect(results[1]["found"] as? Bool == true)
            #expect(results[1]["value"] as? String == "10")
            #expect(results[1]["revision"] as? Int == revision)
            #expect(results[1]["create_revision"] as? Int == revision)
            #expect(results[1]["version"] as? Int == 1)
            #expect(results[2]["op"] as? String == "delete")
            #expect(results[2]["deleted"] as? Int == 1)
            #expect(Set(results[3].keys) == ["op", "key", "found"])
            #expect(results[3]["found"] as? Bool == false)
            #expect(results[4]["op"] as? String == "delete_prefix")
            #expect(results[4]["prefix"] as? String == "old/")
            #expect(results[4]["deleted"] as? Int == 2)
            #expect(results[5]["deleted"] as? Int == 0)

            #expect(try api.node.localValue("to") == "10")
            #expect(try api.node.localValue("from") == nil)
            #expect(try api.node.localValue("old/1") == nil)
            let events = try api.node.store.stateMachine.events(after: UInt64(revision - 1), limit: 20)
            #expect(events.allSatisfy { $0.revision == UInt64(revision) })
            #expect(events.count == 4)
        }
    }

    @Test func aFailedCompareRunsTheFailureBranchOnly() async throws {
        try await RouteHarness.with { api in
            let r1 = try ConditionalWriteRouteTests.revision(try await api.request(.put, "/kv/k", json: ["value": "v"]))
            let response = try await api.request(.post, "/txn", json: [
                "compare": [["key": "k", "target": "version", "op": ">", "value": 5]],
                "success": [["op": "put", "key": "k", "value": "changed"]],
                "failure": [["op": "get", "key": "k"], ["op": "put", "key": "note", "value": "lost"]],
            ])
            #expect(response.status == .ok, "\(response.text)")
            let body = try #require(response.object)
            #expect(body["succeeded"] as? Bool == false)
            let results = try #require(body["results"] as? [[String: Any]])
            try #require(results.count == 2)
            #expect(results[0]["value"] as? String == "v")
            #expect(results[0]["revision"] as? Int == r1)
            #expect(results[1]["op"] as? String == "put")
            #expect(try api.node.localValue("k") == "v")
            #expect(try api.node.localValue("note") == "lost")

            // A value comparison on a missing key is false; != too.
            let missing = try await api.request(.post, "/txn", json: [
                "compare": [["key": "absent", "target": "value", "op": "!=", "value": "x"]],
                "success": [["op": "put", "key": "flag", "value": "1"]],
            ])
            #expect(missing.object?["succeeded"] as? Bool == false)
            #expect((missing.object?["results"] as? [Any])?.isEmpty == true)
            #expect(try api.node.localValue("flag") == nil)

            // An empty transaction is valid and succeeds.
            let empty = try await api.request(.post, "/txn", json: [:])
            #expect(empty.status == .ok, "\(empty.text)")
            #expect(empty.object?["succeeded"] as? Bool == true)
        }
    }

    @Test func aRetryWithTheSameIdempotencyKeyAppliesOnce() async throws {
        try await RouteHarness.with { api in
            let txn: [String: Any] = ["compare": [["key": "ctr", "target": "version", "op": "==", "value": 0]],
                                      "success": [["op": "put", "key": "ctr", "value": "1"]]]
            let first = try await api.request(.post, "/txn", json: txn, headers: [.idempotencyKey: "t-1"])
            let retry = try await api.request(.post, "/txn", json: txn, headers: [.idempotencyKey: "t-1"])
            #expect(first.object?["succeeded"] as? Bool == true)
            #expect(retry.object?["succeeded"] as? Bool == true, "\(retry.text)")
            #expect(retry.object?["revision"] as? Int == first.object?["revision"] as? Int)
            let fresh = try await api.request(.post, "/txn", json: txn)
            #expect(fresh.object?["succeeded"] as? Bool == false)
        }
    }

    @Test func malformedTransactionsAre400WithAMessageThatSaysWhatToFix() async throws {
        try await RouteHarness.with { api in
            let put: [String: Any] = ["op": "put", "key": "a", "value": "1"]
            let cases: [(String, Any, String)] = [
                ("unknown top-level field", ["compare": [], "sucess": [put]], "sucess"),
                ("compare not a list", ["compare": ["key": "a"]], "compare"),
                ("entry not an object", ["success": ["put"]], "success[0]"),
                ("unknown target", ["compare": [["key": "a", "target": "mod_revision", "op": "==", "value": 1]]], "mod_revision"),
                ("unknown compare op", ["compare": [["key": "a", "target": "version", "op": "=", "value": 1]]], "op"),
                ("string for a revision", ["compare": [["key": "a", "target": "revision", "op": "==", "value": "1"]]], "whole number"),
                ("negative revision", ["compare": [["key": "a", "target": "revision", "op": "==", "value": -1]]], "whole number"),
                ("number for a value", ["compare": [["key": "a", "target": "value", "op": "==", "value": 1]]], "string"),
                ("compare without a value", ["compare": [["key": "a", "target": "version", "op": "=="]]], "value"),
                ("unknown compare field", ["compare": [["key": "a", "target": "version", "op": "==", "value": 1, "x": 1]]], "\"x\""),
                ("unknown operation", ["success": [["op": "range", "key": "a"]]], "range"),
                ("put without a value", ["success": [["op": "put", "key": "a"]]], "value"),
                ("value not a string", ["success": [["op": "put", "key": "a", "value": 5]]], "string"),
                ("unknown field on a get", ["failure": [["op": "get", "key": "a", "value": "x"]]], "\"value\""),
                ("key not a string", ["success": [["op": "delete", "key": 7]]], "key"),
                ("empty key", ["success": [["op": "delete", "key": ""]]], "empty"),
                ("key over the limit", ["success": [["op": "get", "key": String(repeating: "k", count: 512)]]], "512"),
                ("empty prefix", ["success": [["op": "delete_prefix", "prefix": ""]]], "prefix"),
                ("bad lease", ["success": [["op": "put", "key": "a", "value": "1", "lease": "soon"]]], "lease"),
                ("129 operations", ["success": Array(repeating: put, count: 129)], "128"),
                ("129 comparisons", ["compare": Array(repeating: ["key": "a", "target": "version", "op": "==", "value": 0] as [String: Any],
                                                      count: 129)], "128"),
                ("not an object", [put], "object"),
            ]
            for (label, body, mention) in cases {
                let data = try JSONSerialization.data(withJSONObject: body)
                let response = try await api.request(.post, "/txn", raw: String(decoding: data, as: UTF8.self))
                #expect(response.status == .badRequest, "\(label): \(response.status) \(response.text)")
                #expect(response.isErrorDocument, "\(label): \(response.text)")
                let message = response.object?["error"] as? String ?? ""
                #expect(message.contains(mention), "\(label): \(message)")
            }
            for raw in ["", "{", "null", "{\"success\": [}"] {
                let response = try await api.request(.post, "/txn", raw: raw)
                #expect(response.status == .badRequest, "\(raw): \(response.text)")
                #expect(response.isErrorDocument, "\(raw): \(response.text)")
            }
            // 128 entries are fine.
            let full = try await api.request(.post, "/txn", json: ["success": Array(repeating: put, count: 128)])
            #expect(full.status == .ok, "\(full.text)")

            let huge = String(repeating: "x", count: (1 << 20) + 1)
            let tooLarge = try await api.request(.post, "/txn", json: ["success": [["op": "put", "key": "big", "value": huge]]])
            #expect(tooLarge.status == .contentTooLarge, "\(tooLarge.status)")
            #expect(try api.node.localValue("big") == nil)

            let wrongMethod = try await api.request(.get, "/txn")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            let unknownLease = try await api.request(.post, "/txn",
                                                     json: ["success": [["op": "put", "key": "a", "value": "1", "lease": "424242"]]])
            #expect(unknownLease.status == .notFound, "\(unknownLease.text)")
            #expect(unknownLease.object?["error"] as? String == "lease not found: 424242")
        }
    }

    @Test func aTransactionNeedsReadRightsForWhatItComparesAndWriteRightsForWhatItChanges() async throws {
        try await AuthRouteTests.withAuth { api, _, _ in
            let app = AuthRouteTests.basic("app")  // writes app/, reads app/ and shared/
            func run(_ body: [String: Any]) async throws -> TestResponse {
                try await api.request(.post, "/txn", json: body, headers: app)
            }
            let allowed = try await run([
                "compare": [["key": "shared/x", "target": "version", "op": "==", "value": 0]],
                "success": [["op": "put", "key": "app/a", "value": "1"], ["op": "get", "key": "shared/y"]],
                "failure": [["op": "delete_prefix", "prefix": "app/tmp/"]],
            ])
            #expect(allowed.status == .ok, "\(allowed.text)")
            let refused: [(String, [String: Any])] = [
                ("compare outside read", ["compare": [["key": "other/x", "target": "version", "op": "==", "value": 0]]]),
                ("get outside read", ["success": [["op": "get", "key": "other/y"]]]),
                ("put into a read-only prefix", ["success": [["op": "put", "key": "shared/a", "value": "1"]]]),
                ("delete in the failure branch", ["failure": [["op": "delete", "key": "shared/a"]]]),
                ("a prefix wider than the grant", ["success": [["op": "delete_prefix", "prefix": "app"]]]),
            ]
            for (label, body) in refused {
                let response = try await run(body)
                #expect(response.status == .forbidden, "\(label): \(response.status) \(response.text)")
                #expect(response.isErrorDocument, "\(label)")
            }
            #expect(try await api.request(.post, "/txn", json: [:]).status == .unauthorized)
            // Range deletes: the prefix must lie inside a write prefix.
            #expect(try await api.request(.delete, "/kv?prefix=app/", headers: app).status == .ok)
            #expect(try await api.request(.delete, "/kv?prefix=ap", headers: app).status == .forbidden)
            #expect(try await api.request(.delete, "/kv?prefix=shared/", headers: app).status == .forbidden)
        }
    }
}
