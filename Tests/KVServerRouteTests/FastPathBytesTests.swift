import NIOCore
import NIOHTTP1
import Testing
@testable import KVServer

/// The single-key fast path reads the target and the usual write body as bytes. What it
/// cannot read exactly is left to the routes (nil), never read differently from them.
@Suite struct FastPathBytesTests {
    static func request(_ method: HTTPMethod, _ uri: String) -> KVFastRequest? {
        KVFastRequest(method: method, uri: uri[...], version: .http1_1, keepAlive: true)
    }

    @Test func theTargetIsSplitAtItsFirstQuestionMarkAndDeclinedWithAFragment() {
        #expect(Self.request(.GET, "/kv/a%3Fb")?.path == "/kv/a%3Fb")
        #expect(Self.request(.GET, "/kv/a?consistency=stale")?.operation == .get(.stale))
        #expect(Self.request(.GET, "/kv/a?consistency=stale")?.path == "/kv/a")
        #expect(Self.request(.GET, "/kv/a?consistency=sometimes") == nil)
        #expect(Self.request(.GET, "/kv/a?limit=1") == nil)
        #expect(Self.request(.PUT, "/kv/a?") == nil)
        #expect(Self.request(.DELETE, "/kv/a#b") == nil)
        #expect(Self.request(.GET, "/kv/") == nil)
        #expect(Self.request(.GET, "/kv") == nil)
        #expect(Self.request(.GET, "/kvx/a") == nil)
        // A question mark a combining accent follows is one Character but still the query's
        // start, as the routes read it: a PUT with a query goes to them.
        #expect(Self.request(.PUT, "/kv/a?\u{301}") == nil)
        #expect(Self.request(.PUT, "/kv/\u{E9}")?.path == "/kv/\u{E9}")
    }

    @Test func aPlainBodyIsReadOnlyWhenItIsExactlyOneUnescapedStringField() {
        func field(_ body: String) -> String? { JSON.plainStringField("value", ByteBuffer(string: body).readableBytesView) }
        #expect(field(#"{"value":"x"}"#) == "x")
        #expect(field(#"{"value":""}"#) == "")
        #expect(field(#"{"value":"caf\#u{E9}"}"#) == "caf\u{E9}")
        // Left to the JSON parser: escapes, other names, spacing, other types, cut short.
        for body in [#"{"value":"a\"b"}"#, #"{"value":"a\\b"}"#, #"{"values":"x"}"#, #"{"valu":"x"}"#,
                     #"{ "value":"x"}"#, #"{"value":1}"#, #"{"value":"x""#, #"{"value":""#, "{", "",
                     "{\"value\":\"a\u{1}\"}"] {
            #expect(field(body) == nil, "\(body.debugDescription)")
        }
    }
}
