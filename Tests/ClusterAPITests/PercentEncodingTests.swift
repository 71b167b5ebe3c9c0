import ClusterAPI
import Testing

/// Keys in paths and queries, and `X-Next-Start-After` as a server might mangle it.
@Suite("PercentEncoding")
struct PercentEncodingTests {
    @Test("every key comes back unchanged, and only unreserved bytes are left bare", arguments: [
        "", "a", "app/x", "sp ace&=%+#?", "é", "e\u{301}", "日本語", "🙂", "%41", "a\u{0}b", "\r\n", "~._-", String(repeating: "ü", count: 300),
    ])
    func roundTrip(_ key: String) {
        let encoded = PercentEncoding.encode(key)
        #expect(PercentEncoding.decode(encoded) == key)
        #expect(encoded.utf8.allSatisfy { $0 < 0x80 && !" &=+#?/".utf8.contains($0) })
    }

    @Test("random byte-valid strings round-trip")
    func randomRoundTrips() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0...40, using: &generator)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0...0x1_0FFF, using: &generator))
            }
            let text = String(String.UnicodeScalarView(scalars))
            #expect(PercentEncoding.decode(PercentEncoding.encode(text)) == text)
        }
    }

    @Test("malformed escapes and bytes that are not UTF-8 decode to nil", arguments: ["%", "%4", "%G1", "%4G", "%FF", "%C3", "%C3%28", "a%"])
    func malformed(_ text: String) {
        #expect(PercentEncoding.decode(text) == nil)
    }

    @Test("a plus sign is a plus sign, not a space")
    func plus() {
        #expect(PercentEncoding.decode("a+b%2Fc") == "a+b/c")
    }

    @Test("a query leaves out absent values and encodes present ones")
    func query() {
        #expect(PercentEncoding.query([("a", nil)]) == "")
        #expect(PercentEncoding.query([("prefix", "a&b=c"), ("limit", nil), ("x", "")]) == "?prefix=a%26b%3Dc&x=")
    }
}
