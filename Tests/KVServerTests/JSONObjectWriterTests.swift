import Foundation
@testable import KVServer
import Testing

/// The hand-written JSON of the hot responses must parse back to what was written and look
/// like `JSONEncoder`'s sorted-key output, for any key or value a client may store.
@Suite struct JSONObjectWriterTests {
    @Test(arguments: ["plain", "quote \" and backslash \\", "slash /a/b", "line\nbreak\ttab\r\u{08}\u{0C}",
                      "control \u{01}\u{1F}", "unicode ✓ 日本 🙂", ""])
    func stringsRoundTrip(_ text: String) throws {
        var writer = JSONObjectWriter()
        writer.field("deleted", true)
        writer.field("key", text)
        writer.field("revision", UInt64.max)
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.encoded)) as? [String: Any]
        #expect(parsed?["key"] as? String == text)
        #expect(parsed?["deleted"] as? Bool == true)
        #expect((parsed?["revision"] as? NSNumber)?.uint64Value == UInt64.max)
    }

    @Test func matchesTheSortedKeyEncoderForOrdinaryValues() throws {
        struct Put: Encodable { var status: String; var key: String; var revision: UInt64 }
        var writer = JSONObjectWriter()
        writer.field("key", "a/b \"c\"")
        writer.field("revision", 42)
        writer.field("status", "success")
        let expected = try JSON.encoder.encode(Put(status: "success", key: "a/b \"c\"", revision: 42))
        #expect(String(decoding: writer.encoded, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }
}

/// The parser-free path for `{"value":"..."}` bodies must agree with the JSON parser on
/// every body it accepts, and leave every other body to the parser.
@Suite struct PlainStringFieldTests {
    static func view(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: [#"{"value":"v"}"#, #"{"value":""}"#, #"{"value":"ünïcödé ✓ /slash"}"#])
    func plainBodiesAreRead(_ body: String) throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect(JSON.plainStringField("value", Self.view(body)) == parsed?["value"] as? String)
    }

    @Test(arguments: [#"{"value":"a\"b"}"#, #"{"value":"a\\nb"}"#, #"{"value":"a\u0041"}"#, #"{ "value":"v"}"#,
                      #"{"value":"v","x":1}"#, #"{"value":5}"#, #"{"other":"v"}"#, #"{"value":"v""#, "{\"value\":\"a\tb\"}"])
    func anythingElseGoesToTheParser(_ body: String) {
        #expect(JSON.plainStringField("value", Self.view(body)) == nil)
    }

    @Test func invalidUTF8GoesToTheParser() {
        let body = Array(#"{"value":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(JSON.plainStringField("value", body) == nil)
    }
}
