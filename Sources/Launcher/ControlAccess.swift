import Foundation
import HTTPTypes

/// Who may drive the control API and read the dashboard (Docs/LAUNCHER.md, "Access rules";
/// Docs/SECURITY.md). Whoever passes can start, stop and delete nodes, so the rules are
/// aimed at what a web page in the operator's browser could otherwise do:
///
/// - `Host` must name an address the launcher listens on: a page that rebinds its own name
///   to 127.0.0.1 (DNS rebinding) sends its own name, and is refused 421 before anything runs.
/// - A state-changing request (any method but GET, HEAD, OPTIONS) must send
///   `Content-Type: application/json` (415) and a same-origin or no `Origin` (403): a page on
///   another site cannot send either without a CORS preflight, which the launcher never grants.
/// - With a control token, every `/api/` request needs `Authorization: Bearer` (401).
public struct ControlAccess: Sendable {
    /// Host names admitted with the launcher's own port or none, lowercased.
    private let names: Set<String>
    /// `name:port` pairs admitted as they are (`--allowed-host name:port`, behind a proxy).
    private let authorities: Set<String>
    private let port: Int
    private let token: [UInt8]?

    /// `host` is `--host`; `allowedHosts` the `--allowed-host` values, with or without a port.
    public init(host: String, port: Int, allowedHosts: [String] = [], token: String? = nil) {
        var names: Set<String> = ["localhost", "127.0.0.1", "[::1]", Self.bracketed(host.lowercased())]
        var authorities: Set<String> = []
        for entry in allowedHosts.map({ $0.lowercased() }) {
            if Self.split(entry) != nil {
                authorities.insert(entry)
            } else {
                names.insert(Self.bracketed(entry))
            }
        }
        self.names = names
        self.authorities = authorities
        self.port = port
        self.token = token.map { Array($0.utf8) }
    }

    /// The refusal to answer instead of serving the request, or nil when it may go on.
    /// `host` is the request's authority (its `Host` header).
    func refusal(method: HTTPRequest.Method, path: String, host: String?, origin: String?,
                 contentType: String?, authorization: String?) -> Refusal? {
        // A browser always sends Host, so a request without one is not a page's; HTTP/1.0
        // tools may omit it.
        if let host, !admits(host: host) {
            return .misdirected("this launcher does not answer to \(host.debugDescription); "
                + "use localhost:\(port), or start it with --allowed-host NAME")
        }
        if token != nil, path == "/api" || path.hasPrefix("/api/"), !hasToken(authorization) {
            return .unauthorized("send the control token as Authorization: Bearer TOKEN")
        }
        guard ![.get, .head, .options].contains(method) else { return nil }
        if let origin, !isSameOrigin(origin, host: host) {
            return .crossOrigin("cross-origin request refused: the Origin header must be absent or this launcher's own")
        }
        guard let contentType, Self.isJSON(contentType) else {
            return .unsupportedMediaType("send Content-Type: application/json with every POST, PUT and DELETE, with or without a body")
        }
        return nil
    }

    enum Refusal: Equatable {
        case misdirected(String), unauthorized(String), crossOrigin(String), unsupportedMediaType(String)

        var status: HTTPResponse.Status {
            switch self {
            case .misdirected: HTTPResponse.Status(code: 421, reasonPhrase: "Misdirected Request")
            case .unauthorized: .unauthorized
            case .crossOrigin: .forbidden
            case .unsupportedMediaType: .unsupportedMediaType
            }
        }

        var message: String {
            switch self {
            case .misdirected(let m), .unauthorized(let m), .crossOrigin(let m), .unsupportedMediaType(let m): m
            }
        }
    }

    /// The name is one the launcher listens on or was told about; a port, when sent, is the
    /// launcher's own (a name bound to another local port is some other program).
    func admits(host: String) -> Bool {
        let authority = host.lowercased()
        if authorities.contains(authority) { return true }
        guard let (name, hostPort) = Self.split(authority) else { return names.contains(authority) }
        return names.contains(name) && hostPort == port
    }

    /// Same origin: `http://` or `https://` (a TLS proxy in front) and the `Host` just admitted.
    /// `Origin: null` never is.
    private func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host else { return false }
        let lowered = origin.lowercased()
        let authority = host.lowercased()
        return lowered == "http://" + authority || lowered == "https://" + authority
    }

    private func hasToken(_ authorization: String?) -> Bool {
        guard let token, let authorization else { return false }
        let prefix = "bearer "
        guard authorization.count > prefix.count, authorization.prefix(prefix.count).lowercased() == prefix else { return false }
        return Self.constantTimeEquals(Array(authorization.utf8.dropFirst(prefix.utf8.count)), token)
    }

    /// Compares every byte whatever the first difference, so the time taken does not tell
    /// a guesser how much of the token was right (the length still shows).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// `application/json` in any case, parameters allowed.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    /// `name` and port of `name:port` or `[v6]:port`; nil when there is no port.
    private static func split(_ authority: String) -> (String, Int)? {
        guard let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") else { return nil }
        let name = String(authority[..<colon])
        guard let port = Int(authority[authority.index(after: colon)...]),
              !name.contains(":") || (name.hasPrefix("[") && name.hasSuffix("]")) else { return nil }
        return (name, port)
    }

    /// An IPv6 literal as it appears in a Host header.
    private static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
