import NIOHTTP1

/// A `/kv/{key}` request simple enough for `KVFastPathHandler`: GET, PUT or DELETE of one
/// key, with no query beyond `consistency` on a GET and no `Expect` header. Anything else,
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
    var version: HTTPVersion
    var keepAlive: Bool

    /// The route name metrics use for every single-key request.
    static let route = "/kv/{key}"

    init?(_ head: HTTPRequestHead) {
        let uri = head.uri[...]
        guard uri.hasPrefix("/kv/"), uri.utf8.count > 4, !uri.contains("#") else { return nil }
        let path: Substring
        let query: Substring?
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = uri
            query = nil
        }
        guard path.utf8.count > 4 else { return nil }
        switch head.method {
        case .GET:
            var consistency = ReadConsistency.linearizable
            if let query {
                guard query.hasPrefix("consistency="),
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
        guard !head.headers.contains(name: "Expect") else { return nil }
        self.path = path
        self.idempotencyKey = head.headers.first(name: "Idempotency-Key")
        self.version = head.version
        self.keepAlive = head.isKeepAlive
    }

    var method: String {
        switch operation {
        case .put: "PUT"
        case .get: "GET"
        case .delete: "DELETE"
        }
    }
}
