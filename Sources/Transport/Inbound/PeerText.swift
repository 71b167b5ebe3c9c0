/// Makes text a peer sent safe to put in a log line. Whatever arrives before a handshake is
/// accepted (a cluster id, a sender id, a refusal reason) is chosen by whoever dialled us, so
/// it may hold newlines or terminal escapes that forge or hide log lines, and may be up to
/// 64 KiB long.
enum PeerText {
    /// The bytes of `text` kept in a log line; the rest is replaced by a count.
    static let defaultLimit = 64

    /// `text` with every byte outside printable ASCII (and the backslash itself) written as
    /// `\xNN`, cut after `limit` bytes with a note of how many were left out.
    static func escaped(_ text: String, limit: Int = defaultLimit) -> String {
        var out = ""
        let bytes = text.utf8
        out.reserveCapacity(min(bytes.count, limit) + 16)
        for byte in bytes.prefix(max(limit, 0)) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + hex(byte)
            }
        }
        if bytes.count > limit { out += "...(\(bytes.count - limit) more bytes)" }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = ""
        text.unicodeScalars.append(digits[Int(byte >> 4)])
        text.unicodeScalars.append(digits[Int(byte & 0x0F)])
        return text
    }
}
