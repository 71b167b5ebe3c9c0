import Foundation
import HTTPTestSupport
import Hummingbird
import HummingbirdTesting
@testable import KVServer
import NIOCore
import NodeRuntime
import RuntimeTestSupport
import Testing

/// kv-node's whole HTTP server over a raw socket, for what only bytes can show about
/// `KVLeanFrontHandler`: pipelined requests answered in order across both paths, the hand-over
/// to NIO's codec, and the idle timeout on a connection that never went past the lean handler.
@Suite struct LeanFrontHandlerTests {
    static func withServer(idleTimeout: TimeAmount = .seconds(30), _ body: @Sendable (Int) async throws -> Void) async throws {
        try await withRuntimeCluster(voters: 1) { cluster in
            let node = try await cluster.leader()
            let router = NodeServer.router(runtime: node.runtime, store: node.store, metrics: node.metrics,
                                           maxPageBytes: NodeOptions.defaultMaxPageBytes)
            let server = NodeServer.httpServer(operations: KVOperations(runtime: node.runtime, store: node.store),
                                               metrics: node.metrics, connections: .init(maximum: 64), idleTimeout: idleTimeout)
            let app = Application(router: router, server: server,
                                  configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0),
                                                                          serverName: NodeServer.name))
            try await app.test(.live) { client in try await body(try #require(client.port)) }
        }
    }

    /// Sends `parts`, then reads until the server closes the connection (or 60 s pass).
    static func exchange(port: Int, _ parts: [String]) async throws -> String {
        let exchange = try HTTPExchange(port: port)
        let deadline = ContinuousClock.now + .seconds(60)
        for part in parts { try await exchange.write(Array(part.utf8), deadline: deadline) }
        return String(decoding: try await exchange.readUntilClosed(deadline: deadline).bytes, as: UTF8.self)
    }

    /// The status lines, in order (an answer follows the previous body directly).
    static func statuses(_ text: String) -> [String] {
        text.components(separatedBy: "HTTP/1.").dropFirst().map { "HTTP/1." + ($0.components(separatedBy: "\r\n").first ?? "") }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAcrossBothPaths() async throws {
        try await Self.withServer { port in
            let put = "PUT /kv/p HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"value\":\"1\"}"
            let answers = try await Self.exchange(port: port, [
                put + "GET /kv/p HTTP/1.1\r\n\r\nGET /kv/p?consistency=stale HTTP/1.1\r\n\r\n"
                    // A route: the connection goes over to NIO's codec, and stays there.
                    + "GET /kv?prefix=p HTTP/1.1\r\n\r\nGET /kv/absent HTTP/1.1\r\nConnection: close\r\n\r\n",
            ])
            #expect(Self.statuses(answers) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK",
                                               "HTTP/1.1 404 Not Found"], "\(answers)")
            // Both reads saw the write; the listing, from the routes, too.
            #expect(answers.components(separatedBy: "\"value\":\"1\"").count == 3, "\(answers)")
            #expect(answers.contains("\"p\":\"1\""), "\(answers)")
        }
    }

    @Test func requestsTheLeanParserDeclinesAreServedByTheFullOne() async throws {
        try await Self.withServer { port in
            // Chunked, split across writes: the lean handler waits, then hands it over whole.
            let chunked = try await Self.exchange(port: port, [
                "PUT /kv/c HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                "Connection: close\r\n\r\n5\r\n{\"val\r\n8\r\nue\":\"c\"}\r\n0\r\n\r\n",
            ])
            #expect(Self.statuses(chunked) == ["HTTP/1.1 200 OK"], "\(chunked)")
            let read = try await Self.exchange(port: port, ["GET /kv/c HTTP/1.0\r\n\r\n"])
            #expect(Self.statuses(read) == ["HTTP/1.0 200 OK"] && read.contains("\"value\":\"c\""), "\(read)")
            // A header value the lean parser does not read (not ASCII), which NIO's accepts.
            let accented = try await Self.exchange(port: port, ["GET /kv/c HTTP/1.1\r\nX-Note: caf\u{E9}\r\nConnection: close\r\n\r\n"])
            #expect(Self.statuses(accented) == ["HTTP/1.1 200 OK"] && accented.contains("\"value\":\"c\""), "\(accented)")
            let bareLF = try await Self.exchange(port: port, ["GET /kv/c HTTP/1.1\nHost: x\n\n"])
            #expect(Self.statuses(bareLF) == ["HTTP/1.1 400 Bad Request"], "\(bareLF)")
            let tooLarge = try await Self.exchange(port: port, ["PUT /kv/c HTTP/1.1\r\nContent-Type: application/json\r\n"
                                                          + "Connection: close\r\nContent-Length: \(KVRoutes.maxBodyBytes + 1)\r\n\r\n"
                                                          + String(repeating: " ", count: KVRoutes.maxBodyBytes + 1)])
            #expect(Self.statuses(tooLarge) == ["HTTP/1.1 413 Payload Too Large"], "\(tooLarge)")
        }
    }

    @Test func aConnectionThatNeverFinishesItsHeadIsClosedByTheIdleTimeout() async throws {
        try await Self.withServer(idleTimeout: .seconds(1)) { port in
            let exchange = try HTTPExchange(port: port)
            let deadline = ContinuousClock.now + .seconds(60)
            try await exchange.write(Array("GET /kv/slow HTTP/1.1\r\nHost: x\r\n".utf8), deadline: deadline)
            let (bytes, closedByPeer) = try await exchange.readUntilClosed(deadline: deadline)
            let answer = String(decoding: bytes, as: UTF8.self)
            // Closed without an answer: `readUntilClosed` returns at the close, or after 60 s
            // with whatever arrived, which the second check tells apart.
            #expect(answer == "")
            #expect(closedByPeer)
        }
    }
}
