/// A stored key with its value and the revisions that describe its life: the entry that
/// last wrote it (`revision`), the entry that created it (`createRevision`), how many writes
/// it has had since (`version`), and the lease it is attached to (0: none).
public struct KVRecord: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    public var revision: UInt64
    public var createRevision: UInt64
    public var version: UInt64
    public var lease: UInt64

    public init(key: String, value: [UInt8], revision: UInt64, createRevision: UInt64? = nil,
                version: UInt64 = 1, lease: UInt64 = 0) {
        self.key = key
        self.value = value
        self.revision = revision
        self.createRevision = createRevision ?? revision
        self.version = version
        self.lease = lease
    }

    /// The `kv` database value: `[2][revision u64][create revision u64][version u64][lease u64][value...]`.
    /// Version 1 (`[1][revision u64][value...]`, written before keys had a history) is still
    /// read: such a key counts as created by its last write, at version 1, with no lease.
    func encodedValue() -> [UInt8] {
        var w = ByteWriter(capacity: 33 + value.count)
        w.u8(2)
        w.u64(revision)
        w.u64(createRevision)
        w.u64(version)
        w.u64(lease)
        w.raw(value)
        return w.bytes
    }

    init(key: [UInt8], stored: [UInt8]) throws(KVStoreError) {
        self.init(key: String(decoding: key, as: UTF8.self), value: [], revision: 0)
        var r = ByteReader(stored, what: "kv value")
        switch try r.u8() {
        case 1:
            revision = try r.u64()
            createRevision = revision
        case 2:
            revision = try r.u64()
            createRevision = try r.u64()
            version = try r.u64()
            lease = try r.u64()
        default:
            throw .corrupt("kv value: unknown version")
        }
        value = r.rest()
    }
}
