import FoundationEssentials

/// Any JSON text, read into the loose shapes the control routes and the auth file inspect:
/// `[String: Any]`, `[Any]`, `String`, `Double`, `Bool` and `JSONDocument.null`.
///
/// `JSONSerialization` did this, but it lives in full Foundation, which kv-node no longer
/// links (Docs/BENCHMARKS.md, "Idle footprint"); `JSONDecoder` is in FoundationEssentials.
/// Its parser bounds nesting depth, so a hostile document cannot exhaust the stack.
enum JSONDocument {
    /// JSON's `null`, where a value is present but empty.
    struct Null: Equatable {}
    static let null = Null()

    /// The document in `bytes`, or nil when they are not JSON.
    static func parse(_ bytes: some Sequence<UInt8>) -> Any? {
        try? JSONDecoder().decode(Node.self, from: Data(bytes)).value
    }

    /// A top-level object, or nil for any other document or for bytes that are not JSON.
    static func object(_ bytes: some Sequence<UInt8>) -> [String: Any]? {
        parse(bytes) as? [String: Any]
    }

    private struct Node: Decodable {
        let value: Any

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                value = JSONDocument.null
            } else if let flag = try? container.decode(Bool.self) {
                value = flag
            } else if let number = try? container.decode(Double.self) {
                value = number
            } else if let text = try? container.decode(String.self) {
                value = text
            } else if let list = try? container.decode([Node].self) {
                value = list.map(\.value)
            } else {
                value = try container.decode([String: Node].self).mapValues(\.value)
            }
        }
    }
}
