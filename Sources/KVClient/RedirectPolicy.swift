/// Where a `307`/`308` from a node may send a request, and whether the credentials go along.
///
/// kv-node redirects membership calls to the leader's API address. A node that is hostile, or
/// a proxy in between, could use a redirect to collect the client's `Authorization` header or
/// to move it from HTTPS to plain HTTP, so a redirect is followed only:
/// - to a path on the same endpoint, or to an `http(s)://host:port/path` whose host is the
///   current host or the host of a configured endpoint;
/// - never from HTTPS to HTTP.
/// The credentials go along only to the same endpoint or to an endpoint the client was
/// configured with (scheme, host and port); any other hop (another port on the same host) is
/// followed without them.
struct RedirectHop: Sendable, Equatable {
    var endpoint: Endpoint
    /// Path and query, starting with `/`.
    var path: String
    var keepsCredentials: Bool
}

enum RedirectPolicy {
    /// The hop `location` asks for from `current`, or nil when it may not be followed.
    static func hop(to location: String, from current: Endpoint, configured: [Endpoint]) -> RedirectHop? {
        // Printable ASCII only: anything else would not make a valid URL, and a request that
        // fails to be built here would read as a transport failure.
        guard location.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        if location.hasPrefix("/") {
            // "//host/path" is a URL without a scheme, not a path.
            guard !location.hasPrefix("//") else { return nil }
            return RedirectHop(endpoint: current, path: location, keepsCredentials: true)
        }
        for scheme in [Endpoint.Scheme.http, .https] {
            let prefix = "\(scheme.rawValue)://"
            guard location.hasPrefix(prefix) else { continue }
            guard current.scheme == .http || scheme == .https else { return nil }
            let rest = location.dropFirst(prefix.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            guard let parsed = try? Endpoint(address: String(rest[..<slash]), scheme: scheme) else { return nil }
            let sameHost = parsed.host.lowercased() == current.host.lowercased()
            guard sameHost || configured.contains(where: { $0.host.lowercased() == parsed.host.lowercased() }) else {
                return nil
            }
            let trusted = parsed.isSameOrigin(as: current) || configured.contains { parsed.isSameOrigin(as: $0) }
            let path = rest[slash...]
            return RedirectHop(endpoint: parsed, path: path.isEmpty ? "/" : String(path), keepsCredentials: trusted)
        }
        return nil
    }
}
