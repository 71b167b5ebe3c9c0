/// One change to one key, as a watcher sees it. A revision holds one event per key it
/// changed: one for a put or delete, several for a transaction, a prefix delete or a lease
/// revocation.
public struct KVEvent: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, Equatable {
        case put = 1, delete = 2
    }

    public var kind: Kind
    /// For a put, the key as written. For a delete: the key, an empty value, the delete's
    /// revision, and create revision, version and lease 0.
    public var record: KVRecord
    /// The key as it was just before this change; nil if it did not exist.
    public var previous: KVRecord?
    /// A delete because the key's lease ran out.
    public var expired: Bool

    public var revision: UInt64 { record.revision }
    public var key: String { record.key }

    public init(kind: Kind, record: KVRecord, previous: KVRecord?, expired: Bool = false) {
        self.kind = kind
        self.record = record
        self.previous = previous
        self.expired = expired
    }

    static func deletion(of previous: KVRecord, at revision: UInt64, expired: Bool) -> KVEvent {
        KVEvent(kind: .delete, record: deletionRecord(key: previous.key, at: revision), previous: previous, expired: expired)
    }

    /// A delete event's record: the key, no value, the delete's revision, the rest 0.
    static func deletionRecord(key: String, at revision: UInt64) -> KVRecord {
        KVRecord(key: key, value: [], revision: revision, createRevision: 0, version: 0)
    }

    /// `history` value: `[1][kind u8][flags u8][key u16-prefixed][record (kv layout), u32-prefixed]
    /// ([previous record, u32-prefixed])?`; flags bit 0 expired, bit 1 has a previous record.
    func encoded() -> [UInt8] {
        Self.encoded(kind: kind, key: key, record: record.encodedValue(), previous: previous?.encodedValue(), expired: expired)
    }

    /// The same bytes from records already in their `kv` layout, as the writer holds them
    /// (the new record it stores, the previous one as LMDB returned it), so the write path
    /// does not encode them a second time.
    static func encoded(kind: Kind, key: String, record: [UInt8], previous: [UInt8]?, expired: Bool = false) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + key.utf8.count + record.count + (previous?.count ?? 0))
        w.u8(1)
        w.u8(kind.rawValue)
        w.u8((expired ? 1 : 0) | (previous == nil ? 0 : 2))
        w.shortString(key)
        w.blob(record)
        if let previous { w.blob(previous) }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(bytes, what: "history event")
        guard try r.u8() == 1 else { throw .corrupt("history event: unknown version") }
        guard let kind = Kind(rawValue: try r.u8()) else { throw .corrupt("history event: unknown kind") }
        let flags = try r.u8()
        let key = Array(try r.shortString().utf8)
        self.kind = kind
        self.expired = flags & 1 != 0
        self.record = try KVRecord(key: key, stored: try r.blob())
        self.previous = flags & 2 == 0 ? nil : try KVRecord(key: key, stored: try r.blob())
        try r.finish()
    }

    /// The key bytes of an encoded event, without decoding the rest.
    static func key(ofEncoded bytes: [UInt8]) -> ArraySlice<UInt8>? {
        guard bytes.count >= 5 else { return nil }
        let length = Int(bytes[3]) | Int(bytes[4]) << 8
        guard bytes.count >= 5 + length else { return nil }
        return bytes[5..<(5 + length)]
    }
}

/// Where an event sits in the `history` database: big-endian revision, then its position
/// within the revision, so a cursor walks events in the order they happened.
struct EventPosition: Sendable, Equatable, Comparable {
    var revision: UInt64
    var offset: UInt32

    var key: [UInt8] {
        var bytes = revision.orderedKey
        bytes.append(contentsOf: [UInt8(offset >> 24), UInt8(truncatingIfNeeded: offset >> 16),
                                  UInt8(truncatingIfNeeded: offset >> 8), UInt8(truncatingIfNeeded: offset)])
        return bytes
    }

    init(revision: UInt64, offset: UInt32) {
        self.revision = revision
        self.offset = offset
    }

    init(key: [UInt8]) throws(KVStoreError) {
        guard key.count == 12, let revision = UInt64(orderedKey: Array(key[0..<8])) else {
            throw .corrupt("history key of \(key.count) bytes")
        }
        self.revision = revision
        offset = key[8..<12].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func < (a: EventPosition, b: EventPosition) -> Bool {
        (a.revision, a.offset) < (b.revision, b.offset)
    }
}
