@testable import KVClient
import Testing

/// Which `Location`s the client follows, and where its credentials may go.
@Suite("RedirectPolicy")
struct RedirectPolicyTests {
    let current = Endpoint(host: "10.0.0.1", port: 9000)
    let configured = [Endpoint(host: "10.0.0.1", port: 9000), Endpoint(host: "10.0.0.2", port: 9000)]

    @Test("a path stays on the endpoint, with the credentials")
    func path() {
        #expect(RedirectPolicy.hop(to: "/cluster/join", from: current, configured: configured)
                == RedirectHop(endpoint: current, path: "/cluster/join", keepsCredentials: true))
    }

    @Test("a configured endpoint gets the request and the credentials")
    func configuredEndpoint() {
        #expect(RedirectPolicy.hop(to: "http://10.0.0.2:9000/cluster/join", from: current, configured: configured)
                == RedirectHop(endpoint: Endpoint(host: "10.0.0.2", port: 9000), path: "/cluster/join", keepsCredentials: true))
        #expect(RedirectPolicy.hop(to: "http://10.0.0.2:9000", from: current, configured: configured)?.path == "/")
    }

    @Test("another port of a known host gets the request without the credentials")
    func otherPortOfKnownHost() {
        let hop = RedirectPolicy.hop(to: "http://10.0.0.2:9999/x", from: current, configured: configured)
        #expect(hop?.endpoint == Endpoint(host: "10.0.0.2", port: 9999))
        #expect(hop?.keepsCredentials == false)
    }

    @Test("hostile locations are not followed", arguments: [
        "http://evil.example:9000/x", "//evil.example/x", "ftp://10.0.0.2:9000/", "http://u:p@10.0.0.2:9000/",
        "http://10.0.0.2/x", "http://10.0.0.2:+9000/x", "http://10.0.0.2:9000?x", "", "cluster/join", "javascript:alert(1)",
        "HTTP://10.0.0.2:9000/", "/a b", "/é", "/x\r\nSet-Cookie: y", "http://10.0.0.2:9000/a\u{0}b",
    ])
    func refused(_ location: String) {
        #expect(RedirectPolicy.hop(to: location, from: current, configured: configured) == nil)
    }

    @Test("HTTPS never goes down to HTTP, even to a configured host; HTTP may go up")
    func noDowngrade() {
        let secure = Endpoint(scheme: .https, host: "10.0.0.1", port: 9000)
        let secureCluster = configured.map { Endpoint(scheme: .https, host: $0.host, port: $0.port) }
        #expect(RedirectPolicy.hop(to: "http://10.0.0.2:9000/x", from: secure, configured: secureCluster) == nil)
        #expect(RedirectPolicy.hop(to: "https://10.0.0.2:9000/x", from: secure, configured: secureCluster)?.keepsCredentials == true)
        // Up to HTTPS on a host configured for HTTP: followed, but not the same origin.
        #expect(RedirectPolicy.hop(to: "https://10.0.0.2:9000/x", from: current, configured: configured)?.keepsCredentials == false)
    }
}
