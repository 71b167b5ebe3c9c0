/// etcdctl's text form of a transaction, so scripts written for `etcdctl txn` work with kvctl:
/// comparisons, a blank line, the success operations, a blank line, the failure operations.
///
/// ```
/// mod("k") > "3"
/// value("k") = "v"
///
/// put k "new value"
/// get k
///
/// del k
/// ```
///
/// Comparisons are `value("k")`, `mod("k")` (the key's revision), `ver("k")` (its version)
/// or `create("k")` (its create revision), then `=`, `!=`, `<` or `>`, then a quoted or bare
/// value. Operations are `put KEY VALUE [--lease ID]`, `get KEY`, `del KEY` and
/// `del KEY --prefix`. Words may be double-quoted, with `\"` and `\\` escapes inside.
public enum TxnScript {
    public static func parse(_ text: String) throws(KVClientError) -> Txn {
        var sections: [[(number: Int, text: String)]] = [[]]
        // "\r\n" is one Character in Swift, so splitting on "\n" alone would leave a script
        // written on Windows as one long line.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (offset, raw) in lines.enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty {
                // As etcdctl reads it: each blank line ends a part, even an empty one (no compares).
                sections.append([])
                continue
            }
            sections[sections.count - 1].append((offset + 1, line))
        }
        // Trailing blank lines leave empty sections behind the third.
        while sections.count > 3, sections.last?.isEmpty == true { sections.removeLast() }
        guard sections.count <= 3 else {
            throw .invalidArgument("a transaction has at most three parts (compares, success, failure) separated by blank lines")
        }
        var txn = Txn()
        for (number, line) in sections[0] { txn.compare.append(try compare(line, line: number)) }
        if sections.count > 1 { for (number, line) in sections[1] { txn.success.append(try operation(line, line: number)) } }
        if sections.count > 2 { for (number, line) in sections[2] { txn.failure.append(try operation(line, line: number)) } }
        return txn
    }

    static func compare(_ text: String, line: Int) throws(KVClientError) -> TxnCompare {
        guard let open = text.firstIndex(of: "(") else { throw .invalidArgument("line \(line): \"\(text)\" is not a comparison like value(\"k\") = \"v\"") }
        let target = text[..<open].trimmingWhitespace()
        var rest = Substring(text[text.index(after: open)...])
        var words = try words(in: &rest, until: ")", line: line)
        guard words.count == 1, let key = words.first else { throw .invalidArgument("line \(line): name exactly one key in parentheses") }
        words = try self.words(in: &rest, until: nil, line: line)
        guard words.count == 2, let op = TxnCompare.Operator(script: words[0]) else {
            throw .invalidArgument("line \(line): a comparison is TARGET(\"key\") =|!=|<|> VALUE")
        }
        let value = words[1]
        func number() throws(KVClientError) -> UInt64 {
            guard let number = UInt64(value) else { throw .invalidArgument("line \(line): \"\(value)\" is not a whole number") }
            return number
        }
        switch target {
        case "value", "val", "v": return .value(key, op, value)
        case "mod", "m": return .revision(key, op, try number())
        case "ver", "version": return .version(key, op, try number())
        case "create", "c": return .createRevision(key, op, try number())
        default: throw .invalidArgument("line \(line): unknown comparison target \"\(target)\" (value, mod, ver or create)")
        }
    }

    static func operation(_ text: String, line: Int) throws(KVClientError) -> TxnOp {
        var rest = Substring(text)
        var words = try words(in: &rest, until: nil, line: line)
        let prefixFlag = words.contains("--prefix")
        words.removeAll { $0 == "--prefix" }
        var lease: UInt64?
        if let flag = words.firstIndex(of: "--lease") {
            guard flag + 1 < words.count, let id = UInt64(words[flag + 1]) else {
                throw .invalidArgument("line \(line): --lease needs a lease id")
            }
            lease = id
            words.removeSubrange(flag...(flag + 1))
        }
        switch (words.first, words.count) {
        case ("put"?, 3): return .put(words[1], words[2], lease: lease)
        case ("get"?, 2): return .get(words[1])
        case ("del"?, 2), ("delete"?, 2): return prefixFlag ? .deletePrefix(words[1]) : .delete(words[1])
        default: throw .invalidArgument("line \(line): \"\(text)\" is not put KEY VALUE, get KEY or del KEY")
        }
    }

    /// Splits words (bare, or double-quoted with `\` escapes) until `terminator` outside quotes
    /// (consumed) or the end.
    private static func words(in text: inout Substring, until terminator: Character?, line: Int) throws(KVClientError) -> [String] {
        var words: [String] = []
        var current: String?
        var quoted = false
        var escaped = false
        while let character = text.first {
            text = text.dropFirst()
            if quoted {
                if escaped {
                    current?.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    quoted = false
                } else {
                    current?.append(character)
                }
                continue
            }
            if character == terminator {
                if let word = current { words.append(word) }
                return words
            }
            if character == "\"" {
                quoted = true
                current = current ?? ""
            } else if character.isWhitespace {
                if let word = current { words.append(word) }
                current = nil
            } else {
                current = (current ?? "") + String(character)
            }
        }
        guard !quoted else { throw .invalidArgument("line \(line): a quote is not closed") }
        guard terminator == nil else { throw .invalidArgument("line \(line): \"\(terminator.map(String.init) ?? "")\" expected") }
        if let word = current { words.append(word) }
        return words
    }
}

extension TxnCompare.Operator {
    /// etcdctl writes equality as `=`; `==` is accepted too.
    init?(script: String) {
        switch script {
        case "=", "==": self = .equal
        case "!=": self = .notEqual
        case "<": self = .less
        case ">": self = .greater
        default: return nil
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
