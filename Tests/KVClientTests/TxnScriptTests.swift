@testable import KVClient
import Testing

/// etcdctl's transaction text: parts, quoting, line endings, and scripts that are wrong.
@Suite("TxnScript")
struct TxnScriptTests {
    static let expected = Txn(compare: [.revision("k", .greater, 3), .value("k", .equal, "two words")],
                              success: [.put("k", "new \"v\"", lease: 42), .get("k")],
                              failure: [.deletePrefix("tmp/"), .delete("k")])

    @Test("the same script with LF, CRLF or CR line endings", arguments: ["\n", "\r\n", "\r"])
    func lineEndings(_ ending: String) throws {
        let lines = ["mod(\"k\") > \"3\"", "value(\"k\") = \"two words\"", "", "put k \"new \\\"v\\\"\" --lease 42", "get k", "",
                     "del tmp/ --prefix", "del k", ""]
        #expect(try TxnScript.parse(lines.joined(separator: ending)) == Self.expected)
    }

    @Test("an empty compare part, and trailing blank lines")
    func emptyParts() throws {
        #expect(try TxnScript.parse("\nput a 1\n\n\n\n") == Txn(success: [.put("a", "1")]))
        #expect(try TxnScript.parse("") == Txn())
    }

    @Test("malformed scripts are refused with the line", arguments: [
        "mod(\"k\") > x", "value(\"k\" = \"v\"", "nope(\"k\") = 1", "value(\"k\") = \"open", "\nput k", "\nput k v --lease", "\nput k v --lease x",
        "\nfrob k", "a(\"k\") = 1\n\nget k\n\nget k\n\nget k", "mod(\"k\") > 99999999999999999999999", "mod(\"k\") > -1", "ver(k1 k2) = 1",
    ])
    func refused(_ script: String) {
        #expect(throws: KVClientError.self) { try TxnScript.parse(script) }
    }
}
