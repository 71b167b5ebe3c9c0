import Foundation
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
        try await onOwnThread {
            let socket = try RawSocket(port: port)
            defer { socket.close() }
            for part in parts { try socket.send(part) }
            return socket.readUntilClosed()
        }
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
            let (answer, closedByPeer) = try await onOwnThread {
                let socket = try RawSocket(port: port)
                defer { socket.close() }
                try socket.send("GET /kv/slow HTTP/1.1\r\nHost: x\r\n")
                return (socket.readUntilClosed(), socket.closedByPeer)
            }
            // Closed without an answer: `readUntilClosed` returns at the close, or after 60 s
            // with whatever arrived, which the second check tells apart.
            #expect(answer == "")
            #expect(closedByPeer)
        }
    }
}

/// Runs blocking `work` on a thread of its own. Blocking socket calls on Swift's cooperative
/// pool (two threads on this machine) would starve everything else in the test process,
/// the server under test included.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// A blocking TCP client with a receive timeout, so that a test cannot hang; use it through
/// `onOwnThread`.
final class RawSocket: @unchecked Sendable {
    private let descriptor: Int32
    private(set) var closedByPeer = false

    init(port: Int) throws {
        descriptor = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED) }
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(sent)
        }
    }

    func readUntilClosed() -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { closedByPeer = true }
            guard count > 0 else { break }
            received += chunk[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { _ = Foundation.close(descriptor) }
}
