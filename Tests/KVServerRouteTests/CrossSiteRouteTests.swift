import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The cross-site rule on the router (Docs/API.md, "Cross-site requests"): what a web page
/// could make a browser send to the admin endpoints and to PUT/DELETE `/kv/{key}` is refused
/// and changes nothing. HummingbirdTesting addresses every request to `localhost`, which is
/// not the node's `--api-addr`, so an `Origin` naming it stands for a DNS-rebound page; the
/// admitted same-origin case needs a real `Host` and is in Tests/KVServerTests.
@Suite struct CrossSiteRouteTests {
    /// The state-changing requests a page might forge, each with a JSON body that would work.
    static func forgeable(leader: String) -> [(HTTPRequest.Method, String, [String: Any]?)] {
        [(.put, "/kv/k", ["value": "forged"]),
         (.delete, "/kv/k", nil),
         (.post, "/cluster/join", ["id": "evil", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"]),
         (.post, "/cluster/remove", ["id": leader])]
    }

    @Test func formContentTypesAndForeignOriginsAreRefusedAndChangeNothing() async throws {
        try await RouteHarness.with { api in
            #expect(try await api.request(.put, "/kv/k", json: ["value": "original"]).status == .ok)
            let leader = api.node.id.rawValue
            for (method, uri, json) in Self.forgeable(leader: leader) {
                if let json {
                    for type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/jsonx"] {
                        let refused = try await api.request(method, uri, json: json, headers: [.contentType: type])
                        #expect(refused.status == .unsupportedMediaType, "\(method) \(uri) as \(type)")
                        #expect(refused.isErrorDocument)
                    }
                    let untyped = try await api.client.execute(
                        uri: uri, method: method, headers: [:],
                        body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
                    #expect(untyped.status == .unsupportedMediaType, "\(method) \(uri) without a content type")
                }
                for origin in ["http://evil.example", "null", "http://localhost", "https://127.0.0.1"] {
                    let refused = try await api.request(method, uri, json: json, headers: [.origin: origin])
                    #expect(refused.status == .forbidden, "\(method) \(uri) from \(origin)")
                    #expect(refused.isErrorDocument)
                }
            }
            // A stale read of the single node's own state: what the refusals left is the
            // question here, not a read barrier, which a loaded machine can time out.
            let read = try await api.request(.get, "/kv/k?consistency=stale")
            #expect(read.object?["value"] as? String == "original", "\(read.status) \(read.text)")
            let status = try await api.request(.get, "/cluster/status")
            let members = (status.object?["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(members == [leader])
        }
    }

    @Test func readsIgnoreTheRuleAndJSONWithParametersIsAdmitted() async throws {
        try await RouteHarness.with { api in
            let put = try await api.request(.put, "/kv/k", json: ["value": "v"],
                                            headers: [.contentType: "Application/JSON ; charset=utf-8"])
            #expect(put.status == .ok, "\(put.text)")
            let read = try await api.request(.get, "/kv/k?consistency=stale", headers: [.origin: "http://evil.example"])
            #expect(read.status == .ok, "\(read.text)")
            let status = try await api.request(.get, "/cluster/status", headers: [.origin: "null"])
            #expect(status.status == .ok)
            // A method the API does not serve still answers 405, not 415, when sent as JSON.
            let post = try await api.request(.post, "/kv/k", json: ["value": "x"])
            #expect(post.status == .methodNotAllowed)
        }
    }
}
