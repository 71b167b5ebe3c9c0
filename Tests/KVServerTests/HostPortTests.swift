import KVStore
import NodeRuntime
import Testing

/// `HostPort(parsing:)` is the gate for every address from a flag or a peer.
@Suite("HostPort parsing")
struct HostPortTests {
    @Test("hostnames, IPv4 quads and bracketed IPv6 literals with a port 1-65535 parse", arguments: [
        ("127.0.0.1:9000", "127.0.0.1", 9000),
        ("localhost:1", "localhost", 1),
        ("node-1.example.com:65535", "node-1.example.com", 65535),
        ("N0DE.local:80", "N0DE.local", 80),
        ("[::1]:9000", "::1", 9000),
        ("[2001:db8::1]:80", "2001:db8::1", 80),
        ("[::ffff:10.0.0.1]:8080", "::ffff:10.0.0.1", 8080),
        ("[1:2:3:4:5:6:7:8]:1", "1:2:3:4:5:6:7:8", 1),
    ])
    func valid(text: String, host: String, port: Int) {
        let parsed = HostPort(parsing: text)
        #expect(parsed == HostPort(host: host, port: port), "\(text)")
        #expect(parsed.map { HostPort(parsing: $0.description) == $0 } == true, "\(text) round-trips")
    }

    @Test("anything else is rejected", arguments: [
        "", "127.0.0.1", ":9000", "host:", "host:0", "host:65536", "host:99999999999999999999", "host:+80", "host:-1",
        "host: 80", " host:80", "ho st:80", "user@host:80", "host/x:80", "a:b:80", "::1:9000", "[::1]9000", "[::1]:",
        "[::1%eth0]:80", "[fe80::1%25eth0]:80", "host\n:80", "host\u{0}:80", "-host:80", "host-:80", "a..b:80", ".host:80",
        "host.:80", String(repeating: "a", count: 64) + ".com:80", String(repeating: "a.", count: 150) + "a:80",
        "999.1.1.1:80", "1.2.3:80", "01.2.3.4:80", "[1:2:3:4:5:6:7:8:9]:80", "[:::]:80", "[1::2::3]:80", "[12345::]:80",
        "[g::1]:80", "[127.0.0.1]:80", "é.com:80", "host:８０", "[::1]]:80",
    ])
    func invalid(text: String) {
        #expect(HostPort(parsing: text) == nil, "\(text.debugDescription) must not parse")
    }

    @Test("member addresses are two valid HostPorts joined by one @")
    func memberAddress() {
        #expect(MemberAddress(parsing: "127.0.0.1:9001@127.0.0.1:9000") != nil)
        #expect(MemberAddress(parsing: "[::1]:1@localhost:2") != nil)
        #expect(MemberAddress(parsing: "a:1@b@c:2") == nil)
        #expect(MemberAddress(parsing: "a:1@b c:2") == nil)
        #expect(MemberAddress(context: Array("x:1@y:2\u{1b}[31m".utf8)) == nil)
    }
}
