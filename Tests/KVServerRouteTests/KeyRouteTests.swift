import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `PUT`, `GET` and `DELETE /kv/{key}` as Docs/API.md specifies them.
@Suite struct KeyRouteTests {
    @Test func putGetDeleteAnswerWithTheDocumentedBodies() async throws {
        try await RouteHarness.with { api in
            let put = try await api.request(.put, "/kv/alpha", json: ["value": "one"])
            #expect(put.status == .ok)
            let written = try #require(put.object)
            #expect(written["status"] as? String == "success")
            #expect(written["key"] as? String == "alpha")
            let revision = try #require(written["revision"] as? Int)
            #expect(Set(written.keys) == ["status", "key", "revision"])

            for uri in ["/kv/alpha", "/kv/alpha?consistency=linearizable", "/kv/alpha?consistency=stale"] {
                let get = try await api.request(.get, uri)
                #expect(get.status == .ok, "\(uri)")
                let read = try #require(get.object)
                #expect(read["key"] as? String == "alpha")
                #expect(read["value"] as? String == "one")
                #expect(read["revision"] as? Int == revision)
                #expect(Set(read.keys) == ["key", "value", "revision", "create_revision", "version"])
                #expect(read["create_revision"] as? Int == revision)
                #expect(read["version"] as? Int == 1)
                #expect(get.headers[.eTag] == "\"\(revision)\"")
            }

            let overwrite = try await api.request(.put, "/kv/alpha", json: ["value": "two"])
            let newer = try #require(overwrite.object?["revision"] as? Int)
            #expect(newer > revision)

            let delete = try await api.request(.delete, "/kv/alpha")
            #expect(delete.status == .ok)
            #expect(delete.object?["deleted"] as? Bool == true)
            #expect(delete.object?["status"] as? String == "success")
            #expect((delete.object?["revision"] as? Int).map { $0 > newer } == true)

            let gone = try await api.request(.get, "/kv/alpha")
            #expect(gone.status == .notFound)
            #expect(gone.isErrorDocument, "\(gone.text)")
            let again = try await api.request(.delete, "/kv/alpha")
            #expect(again.status == .ok)
            #expect(again.object?["deleted"] as? Bool == false)
        }
    }

    @Test func aMissingKeyIs404() async throws {
        try await RouteHarness.with { api in
            for uri in ["/kv/never-written", "/kv/never-written?consistency=stale"] {
                let response = try await api.request(.get, uri)
                #expect(response.status == .notFound, "\(uri)")
                #expect(response.isErrorDocument, "\(response.text)")
            }
        }
    }

    @Test func keysArePercentDecodedAndMayHoldSlashes() async throws {
        try await RouteHarness.with { api in
            let put = try await api.request(.put, "/kv/dir%2Fsub/file%20name", json: ["value": "nested"])
            #expect(put.status == .ok)
            #expect(put.object?["key"] as? String == "dir/sub/file name")
            #expect(try api.node.localValue("dir/sub/file name") == "nested")
            let get = try await api.request(.get, "/kv/dir/sub/file%20name")
            #expect(get.object?["value"] as? String == "nested")
            // Keys are bytes: é as one code point and as e + combining accent are two keys.
            _ = try await api.request(.put, "/kv/%C3%A9", json: ["value": "composed"])
            _ = try await api.request(.put, "/kv/e%CC%81", json: ["value": "decomposed"])
            #expect(try await api.request(.get, "/kv/%C3%A9").object?["value"] as? String == "composed")
            #expect(try await api.request(.get, "/kv/e%CC%81").object?["value"] as? String == "decomposed")
        }
    }

    @Test func badInputIs400Or413WithAnErrorDocument() async throws {
        try await RouteHarness.with { api in
            var cases: [(String, TestResponse, HTTPResponse.Status)] = []
            func check(_ label: String, _ response: TestResponse, _ status: HTTPResponse.Status) {
                cases.append((label, response, status))
            }
            check("key of 512 bytes", try await api.request(.put, "/kv/" + String(repeating: "k", count: 512), json: ["value": "x"]), .badRequest)
            check("GET of a key of 512 bytes", try await api.request(.get, "/kv/" + String(repeating: "k", count: 512)), .badRequest)
            check("bad percent-encoding", try await api.request(.put, "/kv/%ZZ", json: ["value": "x"]), .badRequest)
            check("not JSON", try await api.request(.put, "/kv/a", raw: "{not json"), .badRequest)
            check("no value", try await api.request(.put, "/kv/a", json: ["val": "x"]), .badRequest)
            check("value not a string", try await api.request(.put, "/kv/a", json: ["value": 42]), .badRequest)
            check("not an object", try await api.request(.put, "/kv/a", raw: #"["value","x"]"#), .badRequest)
            check("empty body", try await api.request(.put, "/kv/a", raw: ""), .badRequest)
            check("body over 1 MiB", try await api.request(.put, "/kv/a", json: ["value": String(repeating: "x", count: 1 << 20)]),
                  .contentTooLarge)
            check("bad consistency", try await api.request(.get, "/kv/a?consistency=bogus"), .badRequest)
            check("bad consistency on a listing", try await api.request(.get, "/kv?consistency=eventual"), .badRequest)
            for limit in ["0", "10001", "-1", "ten"] {
                check("limit=\(limit)", try await api.request(.get, "/kv?limit=\(limit)"), .badRequest)
            }
            for (label, response, status) in cases {
                #expect(response.status == status, "\(label): \(response.status) \(response.text)")
                #expect(response.isErrorDocument, "\(label): \(response.text)")
            }

            // Docs/API.md: an empty key is 400. `/kv/` is too short for kv-node's fast path
            // (KVFastRequest wants a key after `/kv/`), so the router answers it. (GET /kv/ is
            // the listing.)
            for method: HTTPRequest.Method in [.put, .delete] {
                let response = try await api.request(method, "/kv/", json: method == .put ? ["value": "x"] : nil)
                #expect(response.status == .badRequest, "\(method) /kv/: \(response.status) \(response.text)")
            }

            let post = try await api.request(.post, "/kv/a", json: ["value": "x"])
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET, PUT, DELETE")
            #expect(post.isErrorDocument)

            // Nothing above was written, and the node still serves.
            #expect(try api.node.localValue("a") == nil)
            #expect(try await api.request(.put, "/kv/a", json: ["value": "fine"]).status == .ok)
            let longest = String(repeating: "k", count: 511)
            #expect(try await api.request(.put, "/kv/" + longest, json: ["value": "fits"]).status == .ok)
        }
    }
}
