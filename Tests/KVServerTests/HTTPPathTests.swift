import Foundation
import HTTPTestSupport
import Testing

/// Single-key requests are answered inside the NIO pipeline, everything else by the
/// Hummingbird routes. A client must not be able to tell: answers come back in request
/// order on a connection, and the same request gets the same answer from either path.
@Suite("HTTP paths")
struct HTTPPathTests {
    @Test("pipelined requests for both paths are answered in order on one connection")
    func pipelinedRequestsKeepTheirOrder() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            _ = try await node.client.putAcknowledged("p/seed", "0")
            let deadline = ContinuousClock.now + .seconds(30)
            let connection = try HTTPExchange(port: node.apiPort)
            func request(_ method: String, _ target: String, body: String? = nil, last: Bool = false) -> String {
                var text = "\(method) \(target) HTTP/1.1\r\nHost: x\r\n"
                if last { text += "Connection: close\r\n" }
                if let body {
                    text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                } else {
                    text += "\r\n"
                }
                return text
            }
            // Fast path (PUT, linearizable and stale GETs, DELETE) interleaved with routed
            // requests (/health, a listing, a GET whose extra query parameter the fast path
            // leaves to the routes), all written at once.
            let all = request("PUT", "/kv/p/a", body: #"{"value":"one"}"#)
                + request("GET", "/health")
                + request("GET", "/kv/p/a")
                + request("GET", "/kv?prefix=p/")
                + request("PUT", "/kv/p/a", body: #"{"value":"two"}"#)
                + request("GET", "/kv/p/a?consistency=stale&trace=1")
                + request("DELETE", "/kv/p/seed")
                + request("GET", "/kv/p/seed?consistency=stale")
                + request("GET", "/kv/p/seed", last: true)
            try await connection.write(Array(all.utf8), deadline: deadline)

            var replies: [HTTPReply] = []
            for _ in 0..<9 { replies.append(try await connection.reply(deadline: deadline)) }
            #expect(replies.map(\.status) == [200, 200, 200, 200, 200, 200, 200, 404, 404], "\(replies)")
            #expect(replies[0].object?["key"] as? String == "p/a")
            #expect(replies[1].object?["status"] as? String == "ok")
            #expect(replies[2].object?["value"] as? String == "one")
            #expect(replies[3].object?["p/a"] as? String == "one")
            #expect(replies[3].object?["p/seed"] as? String == "0")
            let first = try #require(replies[0].object?["revision"] as? Int)
            let second = try #require(replies[4].object?["revision"] as? Int)
            #expect(second > first)
            // A stale read sees the write answered just before it, committed to LMDB or not.
            #expect(replies[5].object?["value"] as? String == "two")
            #expect(replies[6].object?["deleted"] as? Bool == true)
            #expect(replies[8].header("connection") == "close")
        }
    }

    @Test("a single-key request gets the same answer from the pipeline as from the routes")
    func bothPathsAnswerAlike() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            _ = try await node.client.putAcknowledged("same", "value \"quoted\" / slash")
            let base = "http://\(node.apiAddress)"
            // `&x=` sends the same read to the routes: the fast path takes only `consistency`.
            for (fast, routed) in [("/kv/same", "/kv/same?consistency=linearizable&x="),
                                   ("/kv/same?consistency=stale", "/kv/same?consistency=stale&x="),
                                   ("/kv/missing", "/kv/missing?x=")] {
                let a = try await HTTP.send("GET", base + fast)
                let b = try await HTTP.send("GET", base + routed)
                #expect(a.status == b.status, "\(fast): \(a) vs \(routed): \(b)")
                #expect(a.body == b.body, "\(fast): \(a) vs \(routed): \(b)")
                #expect(a.header("content-type") == b.header("content-type"))
                #expect(a.header("server") == "kv-node" && b.header("server") == "kv-node")
            }
            // A write body with escapes goes through the JSON parser on the fast path too.
            let escaped = try await HTTP.send("PUT", base + "/kv/esc", body: Data(#"{"value":"a\"b\\c\u00e9"}"#.utf8))
            #expect(escaped.status == 200, "\(escaped)")
            #expect(try await node.client.get("esc").object?["value"] as? String == "a\"b\\cé")
            // A body sent in two writes is reassembled.
            let deadline = ContinuousClock.now + .seconds(30)
            let pieces = try HTTPExchange(port: node.apiPort)
            try await pieces.write(Array("PUT /kv/pieces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"val".utf8),
                                   deadline: deadline)
            try await pieces.write(Array("ue\":\"whole\"}".utf8), deadline: deadline)
            let whole = try await pieces.reply(deadline: deadline)
            #expect(whole.status == 200, "\(whole)")
            #expect(try await node.client.get("pieces").object?["value"] as? String == "whole")
        }
    }
}
