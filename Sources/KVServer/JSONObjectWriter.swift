import NIOCore

/// A flat JSON object written straight into bytes. Every write and read answers with one
/// of these, and Foundation's `JSONEncoder` cost more CPU than the rest of the route;
/// fields must be added in name order, so the output matches `JSON.encoder`'s sorted keys.
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    /// A field whose name is data (a key of `GET /kv`): escaped like a value. The caller
    /// adds names in byte order and never twice.
    mutating func field(named name: String, _ value: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
        string(value)
    }

    /// Bytes written so far.
    var count: Int { bytes.count + 1 }

    mutating func field(_ name: StaticString, _ value: UInt64) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// The finished object.
    var encoded: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The finished object in a buffer ready to be sent.
    var byteBuffer: ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(bytes.count + 1)
        body.writeBytes(bytes)
        body.writeInteger(UInt8(ascii: "}"))
        return body
    }

    private mutating func key(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    /// RFC 8259 escaping: quote, backslash and control characters; everything else,
    /// including `/` and non-ASCII UTF-8, as is.
    private mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
            case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
