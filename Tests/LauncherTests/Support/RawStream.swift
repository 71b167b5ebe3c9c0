import Foundation
import Glibc

/// A streaming HTTP/1.1 answer read as it arrives, for `text/event-stream` routes that do not
/// end on their own: the test reads until some text has come, or until the server ends the
/// body, and can hang up in between like a browser that navigates away.
final class RawStream {
    private let fd: Int32
    private var closed = false
    private var received: [UInt8] = []
    /// Status and header lines, once the head is in.
    private(set) var status: Int?
    private(set) var headers: [String: String] = [:]
    /// The body so far, de-chunked.
    private(set) var body = ""
    /// True once the server sent the last chunk or closed the connection.
    private(set) var ended = false

    init(port: Int, path: String, host: String = "localhost", headers: [String: String] = [:]) throws {
        fd = try RawHTTP.connectLoopback(port: port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        let bytes = Array((text + "\r\n").utf8)
        // A request this small fits a fresh socket's send buffer at once.
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else {
            Glibc.close(fd)
            throw RawHTTP.Failed(description: "send: errno \(errno)")
        }
    }

    deinit { close() }

    /// Hangs up, as a browser tab that goes away does.
    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    /// Reads until `condition` holds for what has arrived, or the stream ended, or `timeout`.
    @discardableResult
    func read(timeout: Duration = .seconds(20), until condition: (RawStream) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while !condition(self) {
            if ended { return false }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[..<count]
                parse()
                continue
            }
            if count == 0 || errno == ECONNRESET {
                ended = true
                parse()
                continue
            }
            guard errno == EAGAIN, ContinuousClock.now < deadline else { return condition(self) }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Reads until the body holds `text`.
    func read(until text: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await read(timeout: timeout) { $0.body.contains(text) }
    }

    /// Head and de-chunked body from the bytes so far.
    private func parse() {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = received.firstRange(of: separator) else { return }
        let head = String(decoding: received[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        status = head.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        headers = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var rest = received[split.upperBound...]
        guard headers["transfer-encoding"]?.lowercased() == "chunked" else {
            body = String(decoding: rest, as: UTF8.self)
            return
        }
        var decoded: [UInt8] = []
        while let lineEnd = rest.firstRange(of: Array("\r\n".utf8)),
              let size = Int(String(decoding: rest[rest.startIndex..<lineEnd.lowerBound], as: UTF8.self), radix: 16) {
            if size == 0 {
                ended = true
                break
            }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { break }
            let end = rest.index(start, offsetBy: size)
            decoded += rest[start..<end]
            rest = rest[rest.index(end, offsetBy: 2)...]
        }
        body = String(decoding: decoded, as: UTF8.self)
    }
}
