import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request and its answer on a loopback connection of its own.
///
/// Why not URLSession: FoundationNetworking re-sends redirected POSTs without their body,
/// hides whether a request has left the process, and, when asked for `Connection: close`,
/// sometimes reuses a connection the server is closing and then waits a minute for an
/// answer that never comes. A plain socket has none of that: no pool, no redirects, and
/// once `send` returns the request is in the kernel, even when the node is paused.
/// The socket is non-blocking and waits by sleeping, so no test thread ever blocks.
public final class HTTPExchange {
    private let fd: Int32
    private let port: Int

    /// Connects to 127.0.0.1:`port` (the kernel completes the handshake even for a
    /// paused process).
    public init(port: Int) throws {
        self.port = port
        // `connectLoopback` closes the socket itself when the connect fails, before `fd` is
        // set, so `deinit` (which does not run then) never closes it a second time.
        fd = try connectLoopback(port: port)
    }

    deinit { close(fd) }

    /// Writes the whole request. Stops quietly if the server closes early: it may have
    /// answered already (a 413 before the whole body arrived), which `reply` then reads.
    public func send(_ method: String, _ target: String, headers: [String: String] = [:], body: Data? = nil,
              deadline: ContinuousClock.Instant) async throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try await write(Array((head + "\r\n").utf8) + (body.map(Array.init) ?? []), deadline: deadline)
    }

    /// Writes raw bytes, for requests `send` would not form (a body shorter than its
    /// Content-Length).
    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            if errno == EPIPE || errno == ECONNRESET { return }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw NotYet("send: \(String(cString: strerror(errno)))") }
            guard ContinuousClock.now < deadline else { throw NotYet("timed out sending to :\(port)") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Writes what the socket takes of `bytes` until `deadline`, without failing when the
    /// server stops reading; returns how many bytes went out.
    public func writeSome(_ bytes: [UInt8], until deadline: ContinuousClock.Instant) async throws -> Int {
        var offset = 0
        while offset < bytes.count && ContinuousClock.now < deadline {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        return offset
    }

    /// Reads and discards until the server closes the connection; false if it is still
    /// open at `deadline`.
    public func waitForClose(deadline: ContinuousClock.Instant) async throws -> Bool {
        try await readUntilClosed(deadline: deadline, keeping: false).closed
    }

    /// Everything the server sends until it closes the connection (after the responses
    /// `reply` returned), and whether it closed before `deadline`: the bytes exactly as they
    /// came, for tests about the wire itself (status lines, pipelined answers).
    public func readUntilClosed(deadline: ContinuousClock.Instant) async throws -> (bytes: [UInt8], closed: Bool) {
        try await readUntilClosed(deadline: deadline, keeping: true)
    }

    private func readUntilClosed(deadline: ContinuousClock.Instant, keeping: Bool) async throws -> (bytes: [UInt8], closed: Bool) {
        var kept = keeping ? received : []
        received = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && (errno == ECONNRESET || errno == EPIPE)) { return (kept, true) }
            if count > 0 {
                if keeping { kept += chunk[..<count] }
                continue
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { return (kept, true) }
            guard ContinuousClock.now < deadline else { return (kept, false) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Tells the server no more bytes will come (half-close).
    public func finishWriting() { shutdown(fd, Int32(SHUT_WR)) }

    /// Bytes received beyond the responses returned so far (pipelined answers).
    private var received: [UInt8] = []

    /// Reads until the next response is complete (by Content-Length) or the server closes.
    public func reply(deadline: ContinuousClock.Instant) async throws -> HTTPReply {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let (reply, length) = Self.parse(received, complete: false) {
                received.removeFirst(length)
                return reply
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[..<count]
                continue
            }
            if count == 0 || errno == ECONNRESET {
                guard let (reply, length) = Self.parse(received, complete: true) else {
                    throw NotYet("connection closed without a complete response (\(received.count) bytes)")
                }
                received.removeFirst(length)
                return reply
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw NotYet("recv: \(String(cString: strerror(errno)))") }
            guard ContinuousClock.now < deadline else { throw NotYet("timed out waiting for a response from :\(port)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The first response in `bytes` and how many bytes it took, or nil while it is
    /// incomplete. Without a Content-Length the body runs to the end of the connection.
    public static func parse(_ bytes: [UInt8], complete: Bool) -> (HTTPReply, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual(separator) }) else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = bytes[(end + 4)...]
        if let length = headers["content-length"].flatMap(Int.init) {
            guard body.count >= length else { return nil }
            return (HTTPReply(status: status, headers: headers, body: Data(body.prefix(length))), end + 4 + length)
        }
        return complete ? (HTTPReply(status: status, headers: headers, body: Data(body)), bytes.count) : nil
    }
}
