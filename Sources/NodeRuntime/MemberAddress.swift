import KVStore
import RaftCore
import Transport

/// A `host:port` pair as operators write it on the command line.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, where HOST is a hostname (RFC 1123 labels), an IPv4 dotted quad
    /// or a bracketed IPv6 literal (`[::1]:9000`), and PORT is 1...65535 in decimal.
    /// Anything else (spaces, control characters, `@`, `/`, a colon outside brackets, a
    /// zone id, overlong text) is nil: these addresses arrive from flags and from peers,
    /// and nothing but a well-formed address may reach a log line or a dial.
    public init?(parsing text: String) {
        guard text.utf8.count <= Self.maxTextLength else { return nil }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), Self.isIPv6(host) else { return nil }
            portText = rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, Self.isHostname(parts[0]) || Self.isIPv4(parts[0]) else { return nil }
            host = parts[0]
            portText = parts[1]
        }
        guard let port = Self.port(portText) else { return nil }
        self.host = String(host)
        self.port = port
    }

    /// The longest hostname (253) with a colon and a five-digit port.
    static let maxTextLength = 259

    private static func port(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let value = Int(text), (1...65_535).contains(value) else { return nil }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    /// RFC 1123: dot-separated labels of 1-63 letters, digits and hyphens, neither starting
    /// nor ending with a hyphen, 253 bytes at most. All-numeric names must be IPv4 quads.
    static func isHostname(_ text: Substring) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        let labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        var allNumeric = true
        for label in labels {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                  label.allSatisfy({ isDigit($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == UInt8(ascii: "-") })
            else { return false }
            if !label.allSatisfy(isDigit) { allNumeric = false }
        }
        return !allNumeric
    }

    /// Four decimal numbers 0...255, without leading zeros.
    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy(isDigit), part.count == 1 || part.first != 0x30 else { return false }
            return part.reduce(0) { $0 * 10 + Int($1 - 0x30) } <= 255
        }
    }

    /// Eight groups of 1-4 hex digits, `::` once for a run of zero groups, and optionally
    /// an IPv4 quad for the last two groups. No zone id.
    static func isIPv6(_ text: Substring) -> Bool {
        guard (2...45).contains(text.utf8.count) else { return false }
        var halves: [Substring] = []
        var start = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            let next = text.index(after: i)
            if text[i] == ":" && next < text.endIndex && text[next] == ":" {
                halves.append(text[start..<i])
                start = text.index(after: next)
                i = start
            } else {
                i = next
            }
        }
        halves.append(text[start...])
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (h, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (i, part) in parts.enumerated() {
                let isLast = h == halves.count - 1 && i == parts.count - 1
                if isLast && part.contains(".") {
                    guard isIPv4(part) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.utf8.count), part.utf8.allSatisfy(isHexDigit) else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var peerAddress: PeerAddress { PeerAddress(host: host, port: port) }
}

/// Where a member listens. It travels in the `ConfChange` context that adds the member, so
/// every node learns every other node's addresses from the replicated log itself.
public struct MemberAddress: Sendable, Hashable {
    public var raft: HostPort
    public var api: HostPort

    public init(raft: HostPort, api: HostPort) {
        self.raft = raft
        self.api = api
    }

    /// `RAFTHOST:PORT@APIHOST:PORT`, the form of `--peers` entries.
    public init?(parsing text: String) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let raft = HostPort(parsing: String(parts[0])), let api = HostPort(parsing: String(parts[1])) else {
            return nil
        }
        self.init(raft: raft, api: api)
    }

    public var text: String { "\(raft)@\(api)" }
    public var context: [UInt8] { Array(text.utf8) }

    public init?(context: [UInt8]) {
        self.init(parsing: String(decoding: context, as: UTF8.self))
    }
}
