import Foundation
import HTTPTestSupport
import Testing

/// `GET /kv` pages end at a byte budget, `X-Next-Start-After` round-trips any key, and keys
/// are bytes: two spellings of "é" are two keys.
@Suite("Key listing")
struct KeyListingTests {
    /// Every byte but the unreserved ones as %XX, the way a client should encode a key.
    static func encoded(_ key: String) -> String {
        key.utf8.map { byte in
            let unreserved = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            return unreserved ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
    }

    static func put(_ node: NodeProcess, _ key: String, _ value: String) async throws {
        let reply = try await HTTP.send("PUT", "http://\(node.apiAddress)/kv/\(encoded(key))", body: HTTP.json(["value": value]))
        try #require(reply.status == 200, "PUT \(key): \(reply)")
    }

    /// Follows `X-Next-Start-After` as given; returns each page's keys.
    static func walk(_ node: NodeProcess, query: String) async throws -> (pages: [[String]], pairs: [String: String]) {
        var pages: [[String]] = []
        var pairs: [String: String] = [:]
        var cursor: String?
        repeat {
            let reply = try await node.client.list(query + (cursor.map { "&start_after=\($0)" } ?? ""))
            try #require(reply.status == 200, "\(reply)")
            let page = try #require(reply.object as? [String: String], "\(reply)")
            pages.append(page.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            for (key, value) in page {
                #expect(pairs[key] == nil, "\(key) listed twice")
                pairs[key] = value
            }
            cursor = reply.header("X-Next-Start-After")
            if let cursor { try #require(!page.isEmpty, "an empty page with a cursor \(cursor)") }
        } while cursor != nil && pages.count < 50
        return (pages, pairs)
    }

    @Test("a page ends at the byte budget, and the cursor round-trips keys with & = % + space and é")
    func budgetAndCursor() async throws {
        try await TestCluster.with(size: 1, arguments: ["--max-page-bytes", "100000"]) { cluster in
            let node = try await cluster.leader()
            let big = String(repeating: "b", count: 60_000)
            var expected: [String: String] = [:]
            for key in ["pg/a&b", "pg/c=d", "pg/e%f", "pg/g+h", "pg/i j", "pg/é", "pg/#x", "pg/q?r"] { expected[key] = "v \(key)" }
            for key in ["pg/big1", "pg/big2", "pg/big3"] { expected[key] = big }
            for (key, value) in expected.sorted(by: { $0.key < $1.key }) { try await Self.put(node, key, value) }
            try await Self.put(node, "other", "not listed")

            let byBudget = try await Self.walk(node, query: "prefix=\(Self.encoded("pg/"))")
            #expect(byBudget.pairs == expected)
            #expect(byBudget.pages.count >= 2, "the budget ended no page early: \(byBudget.pages)")
            let firstPage = try #require(byBudget.pages.first)
            #expect(firstPage.count < expected.count && firstPage.contains("pg/big1"), "\(byBudget.pages)")

            // One key per page: every key is a cursor once.
            let oneByOne = try await Self.walk(node, query: "prefix=\(Self.encoded("pg/"))&limit=1")
            #expect(oneByOne.pairs == expected)
            #expect(oneByOne.pages == expected.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { [$0] })
        }
    }

    @Test("NFC and NFD spellings of a key are two keys")
    func normalizationFormsAreDistinctKeys() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let base = "http://\(node.apiAddress)"
            let composed = "/kv/nf/%C3%A9"  // U+00E9
            let decomposed = "/kv/nf/e%CC%81"  // e + U+0301
            // Back to back, so both usually sit in the same open LMDB transaction.
            async let first = HTTP.send("PUT", base + composed, body: HTTP.json(["value": "composed"]))
            async let second = HTTP.send("PUT", base + decomposed, body: HTTP.json(["value": "decomposed"]))
            let (a, b) = try await (first, second)
            try #require(a.status == 200 && b.status == 200, "\(a) / \(b)")
            for consistency in ["stale", "linearizable"] {
                let c = try await HTTP.send("GET", base + composed + "?consistency=\(consistency)")
                let d = try await HTTP.send("GET", base + decomposed + "?consistency=\(consistency)")
                #expect(c.object?["value"] as? String == "composed", "\(consistency): \(c)")
                #expect(d.object?["value"] as? String == "decomposed", "\(consistency): \(d)")
                #expect(Array((c.object?["key"] as? String ?? "").utf8) == Array("nf/\u{E9}".utf8))
                #expect(Array((d.object?["key"] as? String ?? "").utf8) == Array("nf/e\u{301}".utf8))
            }
            // Listed as two keys, each with its own value.
            let list = try await node.client.list("prefix=nf%2F")
            let body = Array(list.body)
            #expect(body.firstRange(of: Array(#""nf/\#u{E9}":"composed""#.utf8)) != nil, "\(list)")
            #expect(body.firstRange(of: Array(#""nf/e\#u{301}":"decomposed""#.utf8)) != nil, "\(list)")
            // Deleting one leaves the other.
            #expect(try await HTTP.send("DELETE", base + decomposed).status == 200)
            #expect(try await HTTP.send("GET", base + composed + "?consistency=stale").status == 200)
            #expect(try await HTTP.send("GET", base + decomposed + "?consistency=stale").status == 404)
        }
    }
}
