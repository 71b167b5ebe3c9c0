import NIOHTTP1

/// A `/kv/{key}` request simple enough for `KVFastPathHandler`: GET, PUT or DELETE of one
/// key, with no query beyond `consistency` on a GET and no `Expect`, `If-Match` or
/// `If-None-Match` header (conditional writes are transactions, Docs/API.md). Anything else,
/// including every malformed variant, is left to the Hummingbird routes, so the fast path
/// never has to reproduce their error handling.
struct KVFastRequest {
    enum Operation: Equatable {
        case put
        case get(ReadConsistency)
        case delete
    }

    var operation: Operation
    /// The path: `/kv/` and the key as sent, still percent-encoded.
    var path: Substring
    var idempotencyKey: String?
    /// The headers `CrossSiteRule` judges, taken in the same pass as the rest.
    var contentType: String?
    var origin: String?
    var host: String?
    var authorization: String?
    /// Who the client is, when `--auth-file` is in force: decided from the header without
    /// bcrypt (a Basic header not verified before sends the request to the routes instead).
    var credentials: ClientCredentials?
    var version: HTTPVersion
    var keepAlive: Bool

    /// The route name metrics use for every single-key request.
    static let route = "/kv/{key}"

    init?(_ head: HTTPRequestHead) {
        guard var request = KVFastRequest(method: head.method, uri: head.uri[...], version: head.version,
                                          keepAlive: head.isKeepAlive) else { return nil }
        // One pass over the headers for everything the fast path reads; the values are the
        // decoder's own strings, so nothing is copied.
        for (name, value) in head.headers {
            guard request.take(name: name.utf8, value: value) else { return nil }
        }
        self = request
    }

    /// The request line's part: nil unless the method and target are the fast path's.
    init?(method: HTTPMethod, uri: Substring, version: HTTPVersion, keepAlive: Bool) {
        // Searched as bytes: every delimiter here is ASCII, and walking the target by
        // Characters (grapheme breaking) was a visible share of the event loop's time.
        let bytes = uri.utf8
        guard bytes.starts(with: "/kv/".utf8), bytes.count > 4, !bytes.contains(UInt8(ascii: "#")) else { return nil }
        let path: Substring
        let query: Substring?
        if let mark = bytes.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<mark]
            query = uri[bytes.index(after: mark)...]
        } else {
            path = uri
            query = nil
        }
        guard path.utf8.count > 4 else { return nil }
        switch method {
        case .GET:
            var consistency = ReadConsistency.linearizable
            if let query {
                guard query.utf8.starts(with: "consistency=".utf8),
                      let asked = ReadConsistency(query: query.dropFirst("consistency=".utf8.count)) else { return nil }
                consistency = asked
            }
            operation = .get(consistency)
        case .PUT:
            guard query == nil else { return nil }
            operation = .put
        case .DELETE:
            guard query == nil else { return nil }
            operation = .delete
        default:
            return nil
        }
        self.path = path
        self.version = version
        self.keepAlive = keepAlive
    }

    /// Takes one header; false when it sends the request to the routes instead (a
    /// precondition or an `Expect`). The value is made only for the headers kept.
    mutating func take<Name: Collection<UInt8>>(name: Name, value: @autoclosure () -> String) -> Bool {
        switch name.count {
        case 4 where Self.named(name, "host"):
            if host == nil { host = value() }
        case 6 where Self.named(name, "expect"):
            return false
        case 8 where Self.named(name, "if-match"):
            return false
        case 13 where Self.named(name, "if-none-match"):
            return false
        case 6 where Self.named(name, "origin"):
            if origin == nil { origin = value() }
        case 12 where Self.named(name, "content-type"):
            if contentType == nil { contentType = value() }
        case 13 where Self.named(name, "authorization"):
            if authorization == nil { authorization = value() }
        case 15 where Self.named(name, "idempotency-key"):
            if idempotencyKey == nil { idempotencyKey = value() }
        default:
            break
        }
        return true
    }

    static func named<Name: Collection<UInt8>>(_ name: Name, _ lowercased: StaticString) -> Bool {
        lowercased.withUTF8Buffer { CrossSiteRule.equalsIgnoringCase(name, $0) }
    }

    /// What `ClientAccess` is asked about this request, given its decoded key.
    func accessAction(key: Result<String, APIFailure>) -> ClientAction {
        if case .get = operation { return ClientAccess.keyAction(key: key, write: false) }
        return ClientAccess.keyAction(key: key, write: true)
    }

    /// What `CrossSiteRule` asks of this request.
    var crossSiteRequirement: CrossSiteRule.Requirement {
        switch operation {
        case .get: .none
        case .delete: .sameOrigin
        case .put: .sameOriginJSON
        }
    }

    var method: String {
        switch operation {
        case .put: "PUT"
        case .get: "GET"
        case .delete: "DELETE"
        }
    }
}
