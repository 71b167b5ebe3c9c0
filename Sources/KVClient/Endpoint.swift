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
        guard let colon = rest.lastIndex(of: ":") else {
            throw .invalidArgument("endpoint \"\(text)\" needs a port (host:port)")
        }
        let host = rest[..<colon]
        let portText = rest[rest.index(after: colon)...]
        guard let port = Int(portText), (1...65_535).contains(port), portText.allSatisfy(\.isASCII) else {
            throw .invalidArgument("endpoint \"\(text)\" has no port 1-65535")
        }
        guard Self.isHost(host) else {
            throw .invalidArgument("endpoint \"\(text)\" has no valid host (a name, an IPv4 address or [IPv6])")
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// `host:port`, as `--endpoints` and `/cluster/status` write addresses.
    public var address: String { "\(host):\(port)" }

    /// The base URL every request path is appended to.
    public var baseURL: String { "\(scheme.rawValue)://\(host):\(port)" }

    public var description: String { scheme == .http ? address : baseURL }

    /// Letters, digits, `.`, `-` for names and IPv4; hex digits, `:` and `.` inside brackets
    /// for IPv6. Nothing that could end the authority of a URL.
    private static func isHost(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 255 else { return false }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        return host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }
    }
}
