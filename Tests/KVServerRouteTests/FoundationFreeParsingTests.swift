import NodeRuntime
import Testing
@testable import KVServer

/// The small parsers kv-node uses instead of full Foundation's (Docs/BENCHMARKS.md, "Idle
/// footprint"): each must accept what Foundation's did and refuse hostile input without a trap.
@Suite struct FoundationFreeParsingTests {
    @Test func memberIDsAreCheckedByteByByte() {
        for good in ["a", "node-1", "N_2", String(repeating: "x", count: 64)] {
            #expect(MemberIDSyntax.isValid(good), "\(good)")
        }
        for bad in ["", String(repeating: "x", count: 65), "a b", "a/b", "a\n", "é", "a.b", "node\u{0}"] {
            #expect(!MemberIDSyntax.isValid(bad), "\(bad.debugDescription)")
        }
    }

    @Test func jsonDocumentsReadLikeJSONSerializationDid() throws {
        let object = try #require(JSONDocument.object(Array(#"{"id":"n1","n":2.5,"ok":true,"none":null,"list":[{"role":"read"}],"tags":["a","b"]}"#.utf8)))
        #expect(object["id"] as? String == "n1")
        #expect(object["n"] as? Double == 2.5)
        #expect(object["ok"] as? Bool == true)
        #expect(object["none"] as? JSONDocument.Null == JSONDocument.null)
        #expect((object["list"] as? [[String: Any]])?.first?["role"] as? String == "read")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect(JSONDocument.parse(Array("\"text\"".utf8)) as? String == "text")
        #expect(JSONDocument.object(Array("[1]".utf8)) == nil)
        // (A trailing comma, `{"a":1,}`, is accepted: JSONDecoder allows it, JSONSerialization did not.)
        for broken in ["", "{", "{\"a\":}", "nul", "{\"a\" 1}", "\u{FF}"] {
            #expect(JSONDocument.parse(Array(broken.utf8)) == nil, "\(broken.debugDescription)")
        }
        // Deep nesting is refused by the parser's depth limit, not by running out of stack.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONDocument.parse(Array(deep.utf8)) == nil)
    }

    @Test func whitespaceIsTrimmedAtBothEndsOnly() {
        #expect(" \t kv-0123 \n".trimmingWhitespace() == "kv-0123")
        #expect("a b".trimmingWhitespace() == "a b")
        #expect(" \n\t ".trimmingWhitespace() == "")
        #expect("".trimmingWhitespace() == "")
    }

    @Test func joinEndpointsAreHTTPURLsWithAHostAndAPort() throws {
        let plain = try #require(JoinRequest.Endpoint(url: "http://127.0.0.1:9001/cluster/join"))
        #expect(!plain.usesTLS && plain.address == HostPort(host: "127.0.0.1", port: 9001))
        #expect(plain.authority == "127.0.0.1:9001" && plain.path == "/cluster/join")
        let secure = try #require(JoinRequest.Endpoint(url: "https://[::1]:9443"))
        #expect(secure.usesTLS && secure.address.host == "::1" && secure.path == "/")
        for bad in ["ftp://a:1/", "http://", "http://a/", "http://a:0/x", "http://a:1/x y", "http://a:1/\u{0}", "//a:1/", "http://u@a:1/"] {
            #expect(JoinRequest.Endpoint(url: bad) == nil, "\(bad.debugDescription)")
        }
    }
}
