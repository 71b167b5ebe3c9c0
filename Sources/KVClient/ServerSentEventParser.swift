/// One Server-Sent Event: the fields of a block of lines ended by a blank line.
struct ServerSentEvent: Sendable, Equatable {
    var event: String = "message"
    var data: String = ""
    /// nil when the block had no `id:` (the watch writes it on a revision's last event only).
    var id: String?
}

/// Splits a `text/event-stream` body into events as its bytes arrive, in any chunking.
///
/// Follows the HTML standard's rules for the fields a watch uses: `event`, `data` (several
/// lines joined by `\n`), `id`; lines starting with `:` are comments; `\n`, `\r\n` and `\r`
/// end lines. A line longer than `maxLineBytes`, or an event whose lines add up to more than
/// `maxEventBytes`, is refused, so a hostile stream cannot make the client buffer without
/// bound (many short `data:` lines with no blank line would otherwise grow one event forever).
struct ServerSentEventParser {
    let maxLineBytes: Int
    let maxEventBytes: Int
    private var line: [UInt8] = []
    private var current = ServerSentEvent()
    private var hasField = false
    private var dataLines: [String] = []
    /// Bytes of the fields kept for the event being received (comments and unknown fields are
    /// dropped as they end, so they cost nothing).
    private var eventBytes = 0
    /// The previous byte was `\r`, so a `\n` right after it ends nothing.
    private var afterCarriageReturn = false

    /// The defaults hold any event kv-node sends: a value and a previous value of up to 1 MiB
    /// each, JSON-escaped.
    init(maxLineBytes: Int = 16 * 1024 * 1024, maxEventBytes: Int = 16 * 1024 * 1024) {
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes
    }

    /// Feeds bytes; returns the events they completed.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(KVClientError) -> [ServerSentEvent] {
        var completed: [ServerSentEvent] = []
        for byte in bytes {
            if afterCarriageReturn {
                afterCarriageReturn = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                afterCarriageReturn = byte == UInt8(ascii: "\r")
                if let event = try endLine() { completed.append(event) }
            default:
                guard line.count < maxLineBytes else {
                    throw .invalidResponse("an event-stream line over \(maxLineBytes) bytes")
                }
                line.append(byte)
            }
        }
        return completed
    }

    /// Drops a block that was cut off: an event the stream did not finish never counts.
    mutating func reset() {
        self = ServerSentEventParser(maxLineBytes: maxLineBytes, maxEventBytes: maxEventBytes)
    }

    private mutating func endLine() throws(KVClientError) -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else { return dispatch() }
        guard line.first != UInt8(ascii: ":") else { return nil }
        let text = String(decoding: line, as: UTF8.self)
        let name: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            name = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            name = Substring(text)
            value = ""
        }
        guard ["event", "data", "id"].contains(name) else { return nil }
        eventBytes += line.count
        guard eventBytes <= maxEventBytes else {
            throw .invalidResponse("an event-stream event over \(maxEventBytes) bytes")
        }
        switch name {
        case "event": current.event = String(value)
        case "data": dataLines.append(String(value))
        default: current.id = String(value)
        }
        hasField = true
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        eventBytes = 0
        guard hasField else { return nil }
        var event = current
        event.data = dataLines.joined(separator: "\n")
        current = ServerSentEvent()
        dataLines = []
        hasField = false
        return event
    }
}
