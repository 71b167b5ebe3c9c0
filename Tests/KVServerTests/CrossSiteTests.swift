import Foundation
import HTTPTestSupport
import Testing

/// What a web page can make a browser send to kv-node is refused and changes nothing
/// (Docs/API.md, "Cross-site requests"), on the fast path (PUT and DELETE of one key) and
/// on the routes (`/cluster/join`, `/cluster/remove`) alike; the node's own tools still work.
@Suite("Cross-site requests")
struct CrossSiteTests {
    /// Sends exactly these header lines (no Content-Type is added) and returns the answer.
    static func send(_ method: String, _ target: String, port: Int, host: String? = nil,
                     headers: [(String, String)], body: String?) async throws -> HTTPReply {
        let deadline = ContinuousClock.now + .seconds(20)
        let exchange = try HTTPExchange(port: port)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.utf8.count)\r\n" }
        try await exchange.write(Array((head + "\r\n" + (body ?? "")).utf8), deadline: deadline)
        return try await exchange.reply(deadline: deadline)
    }

    static let formTypes = ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]

    @Test("form posts and foreign origins to PUT/DELETE /kv and the admin endpoints are refused and change nothing")
    func forgedRequestsAreRefused() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            _ = try await node.client.putAcknowledged("k", "original")
            let own = "127.0.0.1:\(node.apiPort)"
            let requests: [(String, String, String?)] = [
                ("PUT", "/kv/k", #"{"value":"forged"}"#),
                ("DELETE", "/kv/k", nil),
                ("POST", "/cluster/join", #"{"id":"evil","raft_addr":"127.0.0.1:1","api_addr":"127.0.0.1:2"}"#),
                ("POST", "/cluster/remove", #"{"id":"\#(node.id)"}"#),
            ]
            for (method, target, body) in requests {
                if body != nil {
                    for type in Self.formTypes + [nil] {
                        let headers = type.map { [("Content-Type", $0)] } ?? []
                        let reply = try await Self.send(method, target, port: node.apiPort, headers: headers, body: body)
                        #expect(reply.status == 415, "\(method) \(target) as \(type ?? "no type"): \(reply)")
                        #expect(reply.object?["error"] is String)
                    }
                }
                // A foreign page; `null`; a page that rebinds its own name to the node's
                // address (its Origin matches its Host, not the node's --api-addr); https.
                let forgeries: [(host: String, origin: String)] = [
                    (own, "http://evil.example"), (own, "null"),
                    ("evil.example:\(node.apiPort)", "http://evil.example:\(node.apiPort)"), (own, "https://\(own)"),
                ]
                for (host, origin) in forgeries {
                    let reply = try await Self.send(method, target, port: node.apiPort, host: host,
                                                    headers: [("Content-Type", "application/json"), ("Origin", origin)], body: body)
                    #expect(reply.status == 403, "\(method) \(target) from \(origin) to \(host): \(reply)")
                    #expect(reply.object?["error"] is String)
                }
            }
            let value = try await node.client.get("k")
            #expect(value.object?["value"] as? String == "original", "\(value)")
            let status = try await node.client.status()
            #expect(status.members.map(\.id) == [node.id])
        }
    }

    @Test("same-origin and Origin-less JSON requests are served on both paths")
    func ownRequestsAreServed() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let own = "127.0.0.1:\(node.apiPort)"
            let json = [("Content-Type", "application/json; charset=utf-8")]
            let sameOrigin = json + [("Origin", "http://\(own)")]
            let put = try await Self.send("PUT", "/kv/k", port: node.apiPort, headers: sameOrigin, body: #"{"value":"mine"}"#)
            #expect(put.status == 200, "\(put)")
            #expect(try await node.client.get("k").object?["value"] as? String == "mine")
            let putWithoutOrigin = try await Self.send("PUT", "/kv/k", port: node.apiPort, headers: json, body: #"{"value":"again"}"#)
            #expect(putWithoutOrigin.status == 200, "\(putWithoutOrigin)")
            let delete = try await Self.send("DELETE", "/kv/k", port: node.apiPort, headers: [("Origin", "http://\(own)")], body: nil)
            #expect(delete.status == 200, "\(delete)")
            #expect(delete.object?["deleted"] as? Bool == true)
            // A read is never refused, whatever page asks (reads change nothing).
            let read = try await Self.send("GET", "/kv/k", port: node.apiPort, headers: [("Origin", "http://evil.example")], body: nil)
            #expect(read.status == 404, "\(read)")

            // The log must be longer than the promotion lag (16 entries) before a learner
            // nobody runs joins, or the leader promotes it and loses its quorum (the known
            // issue in NodeRuntimeTests' Membership suite).
            for i in 0..<20 { _ = try await node.client.putAcknowledged("filler-\(i)", "x") }
            let join = try await Self.send("POST", "/cluster/join", port: node.apiPort, headers: sameOrigin,
                                           body: #"{"id":"other","raft_addr":"127.0.0.1:1","api_addr":"127.0.0.1:2"}"#)
            #expect(join.status == 200, "\(join)")
            let remove = try await Self.send("POST", "/cluster/remove", port: node.apiPort, headers: json, body: #"{"id":"other"}"#)
            #expect(remove.status == 200, "\(remove)")
            #expect(try await node.client.status().members.map(\.id) == [node.id])
        }
    }
}
