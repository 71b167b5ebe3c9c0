import Foundation
#if canImport(Glibc)
import Glibc
import HTTPTestSupport
#endif

/// One Server-Sent Event as it arrived: the fields of one block of lines ended by a blank line.
struct ServerSentEvent: Sendable, Equatable {
    var event: String
    var data: String
    /// The block's own `id:` field, nil when it had none (the watch writes `id` only on the
    /// last event of a revision).
    var id: String?

    /// `data` as a JSON object, or nil when it is not one.
    var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] }
}

/// A `text/event-stream` response read event by event from a loopback connection of its own.
///
/// Why a socket and not URLSession or AsyncHTTPClient: the watch tests must see exactly what
/// the node sent up to the moment it died (kill -9), including a stream cut in the middle
/// of an event, which must then count as never delivered. A plain socket shows that
/// directly; the same reasons as in `HTTPExchange` apply (no pool, no hidden retries).
/// The socket is non-blocking and waits by sleeping, so it never blocks a test thread.
/// Owned by one task at a time.
final class EventStream {
    private let fd: Int32
    private let port: Int
    /// Bytes received and not yet decoded (transfer encoding not yet removed).
    private var raw: [UInt8] = []
    /// Body bytes not yet split into lines.
    private var body: [UInt8] = []
    private var chunked = false
    /// The response head has been parsed, so what follows in `raw` is body.
    private var headParsed = false
    /// The terminal chunk or the end of the connection was seen.
    private(set) var finished = false
    /// Fields of the event being assembled.
    private var pendingEvent: String?
    private var pendingData: [String] = []
    private var pendingID: String?
    private var pendingHasField = false

    private init(port: Int) throws {
        self.port = port
        fd = try connectLoopback(port: port)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// What `GET url` answered: a stream to read when the node answered 200 with
    /// `text/event-stream`, otherwise the whole reply (a 410, 400 or 503) and no stream.
    struct Opening {
        var reply: HTTPReply
        var stream: EventStream?
    }

    /// Sends `GET url` and reads the response head. `url` is `http://127.0.0.1:PORT/path?query`.
    static func open(_ url: String, headers: [String: String] = [:], timeout: Duration = .seconds(20)) async throws -> sending Opening {
        guard let components = URLComponents(string: url), components.host == "127.0.0.1", let port = components.port else {
            throw Unexpected("not a loopback URL: \(url)")
        }
        let target = components.percentEncodedPath + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        let deadline = ContinuousClock.now + timeout
        let stream = try EventStream(port: port)
        var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try await stream.write(Array((head + "\r\n").utf8), deadline: deadline)
        var reply = try await stream.readHead(deadline: deadline)
        let isStream = reply.status == 200 && (reply.header("content-type") ?? "").hasPrefix("text/event-stream")
        if isStream { return Opening(reply: reply, stream: stream) }
        reply.body = try await stream.readWholeBody(length: reply.header("content-length").flatMap(Int.init), deadline: deadline)
        return Opening(reply: reply, stream: nil)
    }

    /// The next event, or nil once the server has ended the stream or the connection died
    /// (an event cut off by the end is dropped, as an EventSource client drops it).
    /// Throws `NotYet` if nothing completes an event before `deadline`.
    func next(deadline: ContinuousClock.Instant) async throws -> ServerSentEvent? {
        while true {
            while let line = takeLine() {
                if let event = consume(line: line) { return event }
            }
            if finished { return nil }
            guard try await receive(deadline: deadline) else { throw NotYet("no event from :\(port) before the deadline") }
        }
    }

    // MARK: Reading

    private func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw NotYet("send: \(String(cString: strerror(errno)))") }
            guard ContinuousClock.now < deadline else { throw NotYet("timed out sending to :\(port)") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Reads what is available into `raw` (and on into `body`); false if nothing came before
    /// `deadline`. Marks the stream finished when the connection ends.
    private func receive(deadline: ContinuousClock.Instant) async throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                raw += chunk[..<count]
                decodeBody()
                return true
            }
            if count == 0 || errno == ECONNRESET || errno == EPIPE {
                finished = true
                return true
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw NotYet("recv from :\(port): \(String(cString: strerror(errno)))")
            }
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    private func readHead(deadline: ContinuousClock.Instant) async throws -> HTTPReply {
        let separator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = raw.indices.dropLast(3).first(where: { raw[$0..<$0 + 4].elementsEqual(separator) }) {
                let lines = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                let statusParts = lines[0].split(separator: " ")
                guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
                    throw Unexpected("not an HTTP status line from :\(port): \(lines[0])")
                }
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                raw.removeFirst(end + 4)
                headParsed = true
                chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false
                decodeBody()
                return HTTPReply(status: status, headers: headers, body: Data())
            }
            if finished { throw NotYet("connection to :\(port) closed before a response head (\(raw.count) bytes)") }
            guard try await receive(deadline: deadline) else { throw NotYet("timed out waiting for a response head from :\(port)") }
        }
    }

    /// The rest of a non-stream reply: `length` bytes, or to the terminal chunk or the end.
    private func readWholeBody(length: Int?, deadline: ContinuousClock.Instant) async throws -> Data {
        while !finished && !(length.map { body.count >= $0 } ?? false) {
            guard try await receive(deadline: deadline) else { throw NotYet("timed out reading a reply body from :\(port)") }
        }
        return Data(length.map { Array(body.prefix($0)) } ?? body)
    }

    /// Moves complete chunks (or, without chunked encoding, everything) from `raw` to `body`.
    private func decodeBody() {
        guard headParsed else { return }
        guard chunked else {
            body += raw
            raw.removeAll()
            return
        }
        while !finished {
            guard let lineEnd = firstCRLF(in: raw) else { return }
            let sizeText = String(decoding: raw[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                // Not chunked framing after all: stop decoding rather than guess.
                finished = true
                return
            }
            if size == 0 {
                finished = true
                return
            }
            let start = lineEnd + 2
            guard raw.count >= start + size + 2 else { return }
            body += raw[start..<start + size]
            raw.removeFirst(start + size + 2)
        }
    }

    private func firstCRLF(in bytes: [UInt8]) -> Int? {
        bytes.indices.dropLast().first { bytes[$0] == 13 && bytes[$0 + 1] == 10 }
    }

    // MARK: Event framing (the WHATWG EventSource rules the tests rely on)

    /// The next complete line of the body, without its line ending.
    private func takeLine() -> String? {
        guard let newline = body.firstIndex(of: 10) else { return nil }
        var line = body[..<newline]
        if line.last == 13 { line = line.dropLast() }
        let text = String(decoding: line, as: UTF8.self)
        body.removeFirst(newline + 1)
        return text
    }

    /// Adds one line to the event being assembled; a blank line completes it.
    private func consume(line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer { pendingEvent = nil; pendingData = []; pendingID = nil; pendingHasField = false }
            guard pendingHasField else { return nil }
            return ServerSentEvent(event: pendingEvent ?? "message", data: pendingData.joined(separator: "\n"), id: pendingID)
        }
        if line.hasPrefix(":") { return nil }  // a comment (keep-alive)
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "event": pendingEvent = String(value)
        case "data": pendingData.append(String(value))
        case "id": pendingID = String(value)
        default: return nil
        }
        pendingHasField = true
        return nil
    }
}
