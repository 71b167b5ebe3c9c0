/// One node's API address as the client dials it: scheme, host and port.
///
/// Parsed once, when the client is configured, so that a typo in `--endpoints` is reported
/// before anything is sent, and so that every URL the client builds has a host and port
/// that cannot smuggle a path or a query in.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        case http
        case https
    }

    public var scheme: Scheme
    /// A host name, an IPv4 address, or an IPv6 literal in brackets (`[::1]`).
    public var host: String
    public var port: Int

    public init(scheme: Scheme = .http, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `http://host:port` or `https://host:port` (a trailing `/` is
    /// allowed). `defaultScheme` applies when none is written: `https` once TLS is configured.
    public init(parsing text: String, defaultScheme: Scheme = .http) throws(KVClientError) {
        var rest = Substring(text)
        var scheme = defaultScheme
        if rest.hasPrefix("http://") {
            scheme = .http
            rest = rest.dropFirst("http://".count)
        } else if rest.hasPrefix("https://") {
            scheme = .https
            rest = rest.dropFirst("https://".count)
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        try self.init(address: rest, scheme: scheme, quoting: text)
    }

    /// Parses a bare `host:port` (no scheme, no path), as the cluster's configuration and a
    /// redirect's authority write it, and gives it `scheme`: an address from a server can never
    /// choose plain HTTP for a client configured for HTTPS.
    init(address: some StringProtocol, scheme: Scheme, quoting text: String? = nil) throws(KVClientError) {
        let quoted = text ?? String(address)
        guard let colon = address.lastIndex(of: ":") else {
            throw .invalidArgument("endpoint \"\(quoted)\" needs a port (host:port)")
        }
        let host = address[..<colon]
        let portText = address[address.index(after: colon)...]
        guard let port = Self.port(portText) else {
            throw .invalidArgument("endpoint \"\(quoted)\" has no port 1-65535")
        }
        guard Self.isHost(host) else {
            throw .invalidArgument("endpoint \"\(quoted)\" has no valid host (a name, an IPv4 address or [IPv6])")
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// Whether both are the same scheme, host (in any case) and port: where credentials may go.
    func isSameOrigin(as other: Endpoint) -> Bool {
        scheme == other.scheme && port == other.port && host.lowercased() == other.host.lowercased()
    }

    /// `host:port`, as `--endpoints` and `/cluster/status` write addresses.
    public var address: String { "\(host):\(port)" }

    /// The base URL every request path is appended to.
    public var baseURL: String { "\(scheme.rawValue)://\(host):\(port)" }

    public var description: String { scheme == .http ? address : baseURL }

    /// 1 to 5 ASCII digits making 1-65535. `Int(_:)` alone would take `+80`, and
    /// `Character.isNumber` takes digits of every script.
    private static func port(_ text: some StringProtocol) -> Int? {
        let digits = text.utf8
        guard (1...5).contains(digits.count), digits.allSatisfy(isDigit) else { return nil }
        let port = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return (1...65_535).contains(port) ? port : nil
    }

    /// Letters, digits, `.`, `-` for names and IPv4; hex digits, `:` and `.` inside brackets
    /// for IPv6, all ASCII. Nothing that could end the authority of a URL.
    private static func isHost(_ host: some StringProtocol) -> Bool {
        let bytes = Array(host.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.count > 2, bytes.last == UInt8(ascii: "]") else { return false }
            return bytes.dropFirst().dropLast().allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
