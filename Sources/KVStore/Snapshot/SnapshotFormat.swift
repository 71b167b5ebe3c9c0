/// The snapshot file, version 2 (version 1, written before keys had history and leases, is
/// still read). All integers little-endian.
///
/// ```
/// header   magic "RKVSNAP\0" (8) | version u16 | applied index u64 | applied term u64
/// record*  tag u8 | payload length u32 | payload
/// trailer  tag 0xFF | record count u64 | CRC-32 u32 of every byte before the trailer
/// ```
/// Records are independent of LMDB's layout, so the store's internals can change without
/// invalidating snapshots in flight between versions. Unknown tags are an error: a reader
/// must not silently drop state it does not understand.
enum SnapshotFormat {
    static let magic: [UInt8] = Array("RKVSNAP".utf8) + [0]
    static let version: UInt16 = 2
    static let readableVersions: ClosedRange<UInt16> = 1...2
    static let headerSize = 8 + 2 + 8 + 8
    static let trailerTag: UInt8 = 0xFF
    static let trailerSize = 1 + 8 + 4

    static func header(_ applied: LogPosition) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.raw(magic)
        w.u16(version)
        w.u64(applied.index)
        w.u64(applied.term)
        return w.bytes
    }

    static func parseHeader(_ bytes: [UInt8]) throws(KVStoreError) -> LogPosition {
        guard bytes.count == headerSize, Array(bytes[0..<8]) == magic else { throw .snapshotInvalid("not a snapshot file") }
        var r = ByteReader(Array(bytes[8...]), what: "snapshot header")
        let version = try r.u16()
        guard readableVersions.contains(version) else { throw .snapshotInvalid("unsupported snapshot version \(version)") }
        return LogPosition(index: try r.u64(), term: try r.u64())
    }
}

/// One unit of state in a snapshot.
enum SnapshotRecord: Equatable {
    case pair(key: [UInt8], revision: UInt64, value: [UInt8])
    case session(clientID: UInt64, record: SessionRecord)
    case member(MemberRecord)
    /// A key as the `kv` database stores it (revision, create revision, version, lease, value).
    case key(key: [UInt8], stored: [UInt8])
    /// One retained history event, at its `EventPosition`.
    case event(position: [UInt8], event: [UInt8])
    case lease(LeaseRecord)
    case compactRevision(UInt64)

    private enum Tag: UInt8 {
        case pair = 1, session = 2, member = 3, key = 4, event = 5, lease = 6, compactRevision = 7
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        let tag: Tag
        switch self {
        case .pair(let key, let revision, let value):
            tag = .pair
            w.blob(key)
            w.u64(revision)
            w.blob(value)
        case .session(let clientID, let record):
            tag = .session
            w.u64(clientID)
            w.raw(record.encoded())
        case .member(let member):
            tag = .member
            w.raw(member.encoded())
        case .key(let key, let stored):
            tag = .key
            w.blob(key)
            w.blob(stored)
        case .event(let position, let event):
            tag = .event
            w.blob(position)
            w.blob(event)
        case .lease(let lease):
            tag = .lease
            w.u64(lease.id)
            w.u64(UInt64(bitPattern: lease.ttlSeconds))
        case .compactRevision(let revision):
            tag = .compactRevision
            w.u64(revision)
        }
        var framed = ByteWriter(capacity: 5 + w.bytes.count)
        framed.u8(tag.rawValue)
        framed.blob(w.bytes)
        return framed.bytes
    }

    init(tag: UInt8, payload: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(payload, what: "snapshot record")
        switch Tag(rawValue: tag) {
        case .pair:
            self = .pair(key: try r.blob(), revision: try r.u64(), value: try r.blob())
            try r.finish()
        case .session:
            let clientID = try r.u64()
            self = .session(clientID: clientID, record: try SessionRecord(decoding: r.rest()))
        case .member:
            self = .member(try MemberRecord(decoding: payload))
        case .key:
            self = .key(key: try r.blob(), stored: try r.blob())
            try r.finish()
        case .event:
            self = .event(position: try r.blob(), event: try r.blob())
            try r.finish()
        case .lease:
            self = .lease(LeaseRecord(id: try r.u64(), ttlSeconds: Int64(bitPattern: try r.u64())))
            try r.finish()
        case .compactRevision:
            self = .compactRevision(try r.u64())
            try r.finish()
        case nil:
            throw .snapshotInvalid("unknown record tag \(tag)")
        }
    }
}
