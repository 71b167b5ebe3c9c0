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

    /// The `kv` database value, version 3: `[3][revision][create revision][version][lease]
    /// [value...]`, the four numbers as LEB128 varints (`ByteWriter.varint`), 10 bytes or so
    /// where fixed-width ones took 32: every write copies its key's record into a history
    /// event and rewrites the LMDB page that holds it, so each byte is paid several times.
    /// Versions 2 (the same numbers as u64) and 1 (`[1][revision u64][value...]`, written
    /// before keys had a history: created by their last write, version 1, no lease) are
    /// still read.
    func encodedValue() -> [UInt8] {
        var w = ByteWriter(capacity: 24 + value.count)
        w.u8(Self.layoutVersion)
        w.varint(revision)
        w.varint(createRevision)
        w.varint(version)
        w.varint(lease)
        w.raw(value)
        return w.bytes
    }

    /// The first byte of what `encodedValue` writes.
    static let layoutVersion: UInt8 = 3

    init(key: [UInt8], stored: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(stored, what: "kv value")
        let header = try Header(&r)
        self.init(key: String(decoding: key, as: UTF8.self), value: r.rest(), revision: header.revision,
                  createRevision: header.createRevision, version: header.version, lease: header.lease)
    }

    /// A stored record's numbers without its key and value, for a writer that needs only
    /// those (the next version, the create revision to keep, the lease to detach from).
    struct Header: Equatable {
        var revision: UInt64
        var createRevision: UInt64
        var version: UInt64
        var lease: UInt64

        init(stored: [UInt8]) throws(KVStoreError) {
            var r = ByteReader(stored, what: "kv value")
            try self.init(&r)
        }

        fileprivate init(_ r: inout ByteReader) throws(KVStoreError) {
            switch try r.u8() {
            case 1:
                revision = try r.u64()
                createRevision = revision
                version = 1
                lease = 0
            case 2:
                revision = try r.u64()
                createRevision = try r.u64()
                version = try r.u64()
                lease = try r.u64()
            case 3:
                revision = try r.varint()
                createRevision = try r.varint()
                version = try r.varint()
                lease = try r.varint()
            default:
                throw .corrupt("kv value: unknown version")
            }
        }
    }
}
