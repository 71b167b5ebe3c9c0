/// A stored key with its value and the index of the entry that last wrote it.
public struct KVRecord: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    public var revision: UInt64

    public init(key: String, value: [UInt8], revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }

    /// The `kv` database value: `[version u8][revision u64][value...]`.
    static func encodeValue(_ value: [UInt8], revision: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 9 + value.count)
        w.u8(1)
        w.u64(revision)
        w.raw(value)
        return w.bytes
    }

    static func decodeValue(_ bytes: [UInt8]) throws(KVStoreError) -> (revision: UInt64, value: [UInt8]) {
        var r = ByteReader(bytes, what: "kv value")
        guard try r.u8() == 1 else { throw .corrupt("kv value: unknown version") }
        return (try r.u64(), r.rest())
    }

    init(key: [UInt8], stored: [UInt8]) throws(KVStoreError) {
        let (revision, value) = try Self.decodeValue(stored)
        self.init(key: String(decoding: key, as: UTF8.self), value: value, revision: revision)
    }
}
