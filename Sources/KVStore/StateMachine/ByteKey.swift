/// A key that is equal to another only when their UTF-8 bytes are equal.
///
/// Why: Swift's `String` equality and hashing follow canonical equivalence, so "é" written
/// as one code point (`%C3%A9`) and as "e" plus a combining accent (`e%CC%81`) are the same
/// `String` key of a `Dictionary` or `Set`. LMDB stores keys as bytes, and they are two
/// keys there; every in-memory table of keys must agree with LMDB, or one key's write
/// would show under the other.
struct ByteKey: Hashable, Sendable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ByteKey, b: ByteKey) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let hashedContiguously: Void? = string.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if hashedContiguously == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
    }
}
