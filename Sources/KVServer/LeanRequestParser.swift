import NIOCore
import NIOHTTP1

/// Reads a single-key request (`KVFastRequest`) straight from the bytes, for `KVLeanFrontHandler`.
///
/// Deliberately narrow: it accepts the shape ordinary clients send (one request line,
/// `name: value` lines, CRLF line ends, a body framed by `Content-Length` alone) and declines
/// everything else, which then goes to NIO's full HTTP/1 parser behind it. Declining is always
/// safe; accepting a request the full parser would read differently is not, so every rule
/// here is at least as strict as RFC 9112: no bare LF or CR, no obs-fold, no control or
/// non-ASCII bytes, no `Transfer-Encoding`, `Upgrade` or unknown `Connection` option, one
/// well-formed `Content-Length` at most, and no body on a GET or DELETE.
///
/// Every byte here comes from the network: indices are checked before each access and no
/// arithmetic can overflow (lengths are bounded by `maxHeadBytes` and `maxBodyBytes`).
enum LeanRequestParser {
    enum Outcome {
        /// The head is not complete yet.
        case incomplete
        /// Not a request this parser serves; the full parser reads it.
        case declined
        /// A request whose head is `headBytes` long, followed by `bodyBytes` of body.
        case request(KVFastRequest, headBytes: Int, bodyBytes: Int)
    }

    /// Headers beyond this many are left to the full parser.
    static let maxHeaderLines = 64

    static func parse(_ buffer: ByteBuffer, maxHeadBytes: Int, maxBodyBytes: Int) -> Outcome {
        buffer.withUnsafeReadableBytes { bytes in
            var reader = HeadReader(bytes: bytes, limit: min(bytes.count, maxHeadBytes), complete: bytes.count >= maxHeadBytes)
            return reader.request(maxBodyBytes: maxBodyBytes)
        }
    }
}

private struct HeadReader {
    let bytes: UnsafeRawBufferPointer
    /// Bytes past this are not looked at: a head longer than the limit is declined.
    let limit: Int
    /// True when `limit` bytes are all the head may have, so not finding its end declines.
    let complete: Bool
    var position = 0

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), colon = UInt8(ascii: ":")

    /// Where the line starting at `position` ends (its CR), `.incomplete` if no LF is in
    /// sight, `.declined` for an LF without CR.
    fileprivate enum LineEnd { case at(Int), incomplete, declined }

    private func lineEnd() -> LineEnd {
        var index = position
        while index < limit {
            if bytes[index] == Self.lf {
                guard index > position, bytes[index - 1] == Self.cr else { return .declined }
                return .at(index - 1)
            }
            index += 1
        }
        return complete ? .declined : .incomplete
    }

    mutating func request(maxBodyBytes: Int) -> LeanRequestParser.Outcome {
        let first = lineEnd()
        guard case .at(let requestLineEnd) = first else { return first.outcome }
        guard var request = requestLine(endingAt: requestLineEnd) else { return .declined }
        position = requestLineEnd + 2
        var contentLength: Int?
        var closeAsked = false, keepAliveAsked = false
        var lines = 0
        while true {
            let end: Int
            switch lineEnd() {
            case .at(let at): end = at
            case let other: return other.outcome
            }
            if end == position {
                position = end + 2
                break
            }
            lines += 1
            guard lines <= LeanRequestParser.maxHeaderLines, let field = headerField(endingAt: end) else { return .declined }
            let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
            let value = UnsafeRawBufferPointer(rebasing: bytes[field.value])
            if KVFastRequest.named(name, "content-length") {
                guard contentLength == nil, let length = Self.decimal(value, atMost: maxBodyBytes) else { return .declined }
                contentLength = length
            } else if KVFastRequest.named(name, "transfer-encoding") || KVFastRequest.named(name, "upgrade") {
                return .declined
            } else if KVFastRequest.named(name, "connection") {
                guard Self.connectionOptions(value, close: &closeAsked, keepAlive: &keepAliveAsked) else { return .declined }
            } else if !request.take(name: name, value: String(decoding: value, as: UTF8.self)) {
                return .declined
            }
            position = end + 2
        }
        let bodyBytes = contentLength ?? 0
        if bodyBytes > 0, request.operation != .put { return .declined }
        request.keepAlive = request.version.minor == 1 ? !closeAsked : keepAliveAsked && !closeAsked
        return .request(request, headBytes: position, bodyBytes: bodyBytes)
    }

    /// `GET|PUT|DELETE SP /kv/... SP HTTP/1.1|HTTP/1.0`.
    private func requestLine(endingAt end: Int) -> KVFastRequest? {
        let line = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
        let method: HTTPMethod
        let targetStart: Int
        if line.starts(with: "GET ".utf8) {
            (method, targetStart) = (.GET, 4)
        } else if line.starts(with: "PUT ".utf8) {
            (method, targetStart) = (.PUT, 4)
        } else if line.starts(with: "DELETE ".utf8) {
            (method, targetStart) = (.DELETE, 7)
        } else {
            return nil
        }
        guard let targetEnd = line[targetStart...].firstIndex(of: Self.space), targetEnd > targetStart else { return nil }
        let target = line[targetStart..<targetEnd]
        guard target.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let version: HTTPVersion
        switch line[(targetEnd + 1)...] {
        case let rest where rest.elementsEqual("HTTP/1.1".utf8): version = .http1_1
        case let rest where rest.elementsEqual("HTTP/1.0".utf8): version = .http1_0
        default: return nil
        }
        let uri = String(decoding: UnsafeRawBufferPointer(rebasing: target), as: UTF8.self)
        return KVFastRequest(method: method, uri: uri[...], version: version, keepAlive: false)
    }

    /// `name: value` with optional spaces or tabs around the value; the ranges index `bytes`.
    private func headerField(endingAt end: Int) -> (name: Range<Int>, value: Range<Int>)? {
        var index = position
        while index < end, Self.isTokenCharacter(bytes[index]) { index += 1 }
        guard index > position, index < end, bytes[index] == Self.colon else { return nil }
        let name = position..<index
        index += 1
        while index < end, bytes[index] == Self.space || bytes[index] == Self.tab { index += 1 }
        var valueEnd = end
        while valueEnd > index, bytes[valueEnd - 1] == Self.space || bytes[valueEnd - 1] == Self.tab { valueEnd -= 1 }
        guard bytes[index..<valueEnd].allSatisfy({ (0x21...0x7E).contains($0) || $0 == Self.space || $0 == Self.tab }) else {
            return nil
        }
        return (name, index..<valueEnd)
    }

    /// RFC 9110's `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Digits only, at most `limit`; nil otherwise (the digit count bounds the arithmetic).
    private static func decimal(_ value: UnsafeRawBufferPointer, atMost limit: Int) -> Int? {
        guard !value.isEmpty, value.count <= 9 else { return nil }
        var number = 0
        for byte in value {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number <= limit ? number : nil
    }

    /// A comma-separated list of `close` and `keep-alive`; false for any other option.
    private static func connectionOptions(_ value: UnsafeRawBufferPointer, close: inout Bool, keepAlive: inout Bool) -> Bool {
        for option in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            let trimmed = option.drop { $0 == space || $0 == tab }.reversed().drop { $0 == space || $0 == tab }.reversed()
            if KVFastRequest.named(trimmed, "close") {
                close = true
            } else if KVFastRequest.named(trimmed, "keep-alive") {
                keepAlive = true
            } else {
                return false
            }
        }
        return true
    }
}

extension HeadReader.LineEnd {
    fileprivate var outcome: LeanRequestParser.Outcome {
        switch self {
        case .incomplete: .incomplete
        case .declined, .at: .declined
        }
    }
}
