import HTTPTypes

/// The rule that keeps a web page from changing the cluster through an operator's browser
/// (Docs/API.md, "Cross-site requests"; Docs/SECURITY.md).
///
/// A page on another site can make the browser send a form post or a `text/plain` fetch to
/// any address without asking anyone, but it cannot send `Content-Type: application/json`
/// cross-site without a CORS preflight, which kv-node never grants. So a request that
/// changes something must say it is JSON, and a request that carries an `Origin` must come
/// from the node itself. Both request paths (`KVFastPathHandler` and the Hummingbird routes
/// through `CrossSiteMiddleware`) ask this one type, so they refuse exactly the same requests.
///
/// The checks compare bytes in place: the fast path runs them on every write, and the
/// happy path allocates nothing.
struct CrossSiteRule: Sendable {
    /// What a request must show, by its method.
    enum Requirement: Equatable {
        /// Reads: nothing.
        case none
        /// A change without a body (DELETE): a same-origin or absent `Origin`.
        case sameOrigin
        /// A change with a body (PUT, POST, PATCH and any other method): also a JSON content type.
        case sameOriginJSON
    }

    /// `host:port` of `--api-addr`: the only authority the node's own origin may name.
    let ownAuthority: String
    /// `http://`, or `https://` when the API is served over TLS (`--cert-file`).
    let schemePrefix: String

    init(ownAuthority: String, secure: Bool = false) {
        self.ownAuthority = ownAuthority
        self.schemePrefix = secure ? "https://" : "http://"
    }

    static func requirement(of method: HTTPRequest.Method) -> Requirement {
        switch method {
        case .get, .head, .options: .none
        case .delete: .sameOrigin
        default: .sameOriginJSON
        }
    }

    /// The failure to answer instead of serving the request, or nil when it may be served.
    /// `host` is the request's `Host` header (its authority).
    func refusal(_ requirement: Requirement, contentType: String?, origin: String?, host: String?) -> APIFailure? {
        if requirement == .none { return nil }
        if let origin, !isOwnOrigin(origin, host: host) {
            return APIFailure(403, "cross-origin request refused: the Origin header must be absent or \(schemePrefix)\(ownAuthority)")
        }
        if requirement == .sameOriginJSON, !(contentType.map(Self.isJSON) ?? false) {
            return APIFailure(415, "send the body with Content-Type: application/json")
        }
        return nil
    }

    /// The node's own origin is its scheme (`http://`, `https://` with TLS) and the authority it is addressed by: the request's
    /// `Host` header, which must also be `--api-addr`. Checking `Host` too means a page that
    /// rebinds its own name to the node's address (DNS rebinding) does not pass as the node.
    /// `Origin: null` (sandboxed frames, some redirects) is never the node's own.
    func isOwnOrigin(_ origin: String, host: String?) -> Bool {
        guard let host else { return false }
        let scheme = schemePrefix.utf8
        let originBytes = origin.utf8
        guard originBytes.count == scheme.count + host.utf8.count,
              Self.equalsIgnoringCase(originBytes.prefix(scheme.count), scheme) else { return false }
        let authority = originBytes.dropFirst(scheme.count)
        return Self.equalsIgnoringCase(authority, host.utf8) && Self.equalsIgnoringCase(authority, ownAuthority.utf8)
    }

    /// `application/json`, in any case, with or without parameters (`; charset=utf-8`), or
    /// `application/x-ndjson` (JSON lines, `POST /import`): neither is a type a browser sends
    /// cross-site without a preflight.
    static func isJSON(_ contentType: String) -> Bool {
        let bytes = contentType.utf8
        let end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        var mediaType = bytes[..<end]
        while let first = mediaType.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { mediaType = mediaType.dropFirst() }
        while let last = mediaType.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { mediaType = mediaType.dropLast() }
        return equalsIgnoringCase(mediaType, "application/json".utf8)
            || equalsIgnoringCase(mediaType, "application/x-ndjson".utf8)
    }

    static func equalsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lowercased($0) == lowercased($1) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
