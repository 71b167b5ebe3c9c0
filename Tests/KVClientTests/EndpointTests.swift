@testable import KVClient
import Testing

/// `--endpoints` and the addresses a server hands out, including what a hostile one might.
@Suite("Endpoint")
struct EndpointTests {
    @Test("host:port with or without a scheme and a trailing slash")
    func accepted() throws {
        #expect(try Endpoint(parsing: "127.0.0.1:9000") == Endpoint(host: "127.0.0.1", port: 9000))
        #expect(try Endpoint(parsing: "http://node-1.example:80/") == Endpoint(host: "node-1.example", port: 80))
        #expect(try Endpoint(parsing: "https://[::1]:65535") == Endpoint(scheme: .https, host: "[::1]", port: 65_535))
        #expect(try Endpoint(parsing: "a:1", defaultScheme: .https).scheme == .https)
        #expect(try Endpoint(parsing: "http://a:1", defaultScheme: .https).scheme == .http)
    }

    @Test("ports that are not 1 to 5 ASCII digits making 1-65535 are refused", arguments: [
        "h:+80", "h:-1", "h:0", "h:65536", "h:99999999999999999999999", "h:", "h:٨٠", "h:８０", "h: 80", "h:80 ", "h:0x50", "h",
        "h:00080x",
    ])
    func badPorts(_ text: String) {
        #expect(throws: KVClientError.self) { try Endpoint(parsing: text) }
    }

    @Test("hosts that could smuggle a path, credentials or another authority are refused", arguments: [
        ":80", "user@h:80", "h/x:80", "h?x:80", "h#x:80", "a b:80", "ｆｕｌｌ:80", "é:80", "[::g]:80", "[]:80", "[::1:80", "::1:80",
        "h%2F:80", "http://", "https://:1",
    ])
    func badHosts(_ text: String) {
        #expect(throws: KVClientError.self) { try Endpoint(parsing: text) }
    }

    @Test("a host over 255 bytes is refused")
    func longHost() {
        #expect(throws: KVClientError.self) { try Endpoint(parsing: String(repeating: "a", count: 256) + ":1") }
    }

    @Test("an address from the server takes the client's scheme and may not carry its own")
    func serverAddresses() throws {
        #expect(try Endpoint(address: "10.0.0.1:9000", scheme: .https) == Endpoint(scheme: .https, host: "10.0.0.1", port: 9000))
        #expect(throws: KVClientError.self) { try Endpoint(address: "http://10.0.0.1:9000", scheme: .https) }
        #expect(throws: KVClientError.self) { try Endpoint(address: "10.0.0.1:9000/", scheme: .https) }
    }
}
