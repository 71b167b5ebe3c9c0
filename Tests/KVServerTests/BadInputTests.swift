import Foundation
import HTTPTestSupport
import Testing

/// Every kind of bad request gets its own status code and a JSON error, and none of them
/// disturbs the node.
@Suite("Bad input")
struct BadInputTests {
    @Test("bad requests get 400/404/405/413 and the node keeps serving")
    func badRequests() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let base = "http://\(node.apiAddress)"
            func expectStatus(_ expected: Int, _ method: String, _ path: String, body: Data? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let reply = try await HTTP.send(method, base + path, body: body)
                #expect(reply.status == expected, "\(method) \(path): \(reply)", sourceLocation: sourceLocation)
                if expected != 200 {
                    #expect(reply.object?["error"] is String, "\(method) \(path) error shape: \(reply)", sourceLocation: sourceLocation)
                }
            }

            try await expectStatus(400, "PUT", "/kv/a", body: Data("{not json".utf8))
            try await expectStatus(400, "PUT", "/kv/a", body: Data(#"{"val":"x"}"#.utf8))
            try await expectStatus(400, "PUT", "/kv/a", body: Data(#"{"value":42}"#.utf8))
            try await expectStatus(400, "PUT", "/kv/a", body: Data(#"["value","x"]"#.utf8))
            try await expectStatus(400, "PUT", "/kv/a", body: Data())
            let huge = HTTP.json(["value": String(repeating: "x", count: (1 << 20) + 10)])
            try await expectStatus(413, "PUT", "/kv/a", body: huge)
            try await expectStatus(400, "PUT", "/kv/" + String(repeating: "k", count: 512), body: HTTP.json(["value": "x"]))
            try await expectStatus(404, "GET", "/kv/never-written")
            try await expectStatus(405, "POST", "/kv/x", body: HTTP.json(["value": "x"]))
            try await expectStatus(400, "GET", "/kv/a?consistency=bogus")
            try await expectStatus(400, "GET", "/kv?limit=0")
            try await expectStatus(400, "POST", "/cluster/join",
                                   body: HTTP.json(["id": "../etc", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"]))
            try await expectStatus(400, "POST", "/cluster/join", body: HTTP.json(["id": "ok", "raft_addr": "nonsense"]))

            // A body cut short is a client error, not a body that is too large.
            let deadline = ContinuousClock.now + .seconds(20)
            let truncated = try HTTPExchange(port: node.apiPort)
            try await truncated.write(Array("PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"value\":".utf8), deadline: deadline)
            truncated.finishWriting()
            let cut = try await truncated.reply(deadline: deadline)
            #expect(cut.status == 400, "a truncated body: \(cut)")

            let maxKey = String(repeating: "k", count: 511)
            try await expectStatus(200, "PUT", "/kv/" + maxKey, body: HTTP.json(["value": "longest key"]))
            let put = try await node.client.put("a", "still serving")
            #expect(put.status == 200, "\(put)")
            #expect(try await node.client.get("a").object?["value"] as? String == "still serving")
        }
    }
}
