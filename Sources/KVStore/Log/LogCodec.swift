import RaftCore

/// A (index, term) pair: where the log starts after compaction, or what was last applied.
public struct LogPosition: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64

    public init(index: UInt64, term: UInt64) {
        self.index = index
        self.term = term
    }

    public static let zero = LogPosition(index: 0, term: 0)
}

/// Byte layouts of the Raft values kept in the `log` and `meta` databases. Each starts with
/// a version byte so a later release can change a layout and still read old data.
enum LogCodec {
    static let version: UInt8 = 1

    /// `[version][term u64][kind u8][data...]`; the index is the database key.
    static func encode(_ entry: Entry) -> [UInt8] {
        var w = ByteWriter(capacity: 10 + entry.data.count)
        w.u8(version)
        w.u64(entry.term)
        w.u8(entry.kind.rawValue)
        w.raw(entry.data)
        return w.bytes
    }

    static func decodeEntry(index: UInt64, _ bytes: [UInt8]) throws(KVStoreError) -> Entry {
        var r = try reader(bytes, "log entry \(index)")
        let term = try r.u64()
        guard let kind = EntryKind(rawValue: try r.u8()) else { throw .corrupt("log entry \(index): unknown kind") }
        return Entry(term: term, index: index, kind: kind, data: r.rest())
    }

    /// Reads only the term, for `term(at:)`, without copying the payload into an `Entry`.
    static func decodeTerm(index: UInt64, _ bytes: [UInt8]) throws(KVStoreError) -> UInt64 {
        var r = try reader(bytes, "log entry \(index)")
        return try r.u64()
    }

    static func encode(_ state: HardState) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        w.u64(state.term)
        w.u64(state.commit)
        w.u8(state.vote == nil ? 0 : 1)
        w.shortString(state.vote?.rawValue ?? "")
        return w.bytes
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(KVStoreError) -> HardState {
        var r = try reader(bytes, "hard state")
        let term = try r.u64()
        let commit = try r.u64()
        let hasVote = try r.u8() != 0
        let vote = try r.shortString()
        try r.finish()
        return HardState(term: term, vote: hasVote ? NodeID(vote) : nil, commit: commit)
    }

    static func encode(_ position: LogPosition) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        w.u64(position.index)
        w.u64(position.term)
        return w.bytes
    }

    static func decodePosition(_ bytes: [UInt8]) throws(KVStoreError) -> LogPosition {
        var r = try reader(bytes, "log position")
        let position = LogPosition(index: try r.u64(), term: try r.u64())
        try r.finish()
        return position
    }

    static func encode(sequence: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        w.u64(sequence)
        return w.bytes
    }

    static func decodeSequence(_ bytes: [UInt8]) throws(KVStoreError) -> UInt64 {
        var r = try reader(bytes, "WAL sequence")
        let sequence = try r.u64()
        try r.finish()
        return sequence
    }

    static func encode(_ metadata: SnapshotMetadata) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        w.u64(metadata.index)
        w.u64(metadata.term)
        for group in [metadata.conf.voters, metadata.conf.learners] {
            w.u32(UInt32(group.count))
            for id in group.sorted() { w.shortString(id.rawValue) }
        }
        return w.bytes
    }

    static func decodeSnapshotMetadata(_ bytes: [UInt8]) throws(KVStoreError) -> SnapshotMetadata {
        var r = try reader(bytes, "snapshot metadata")
        let index = try r.u64()
        let term = try r.u64()
        var groups: [Set<NodeID>] = []
        for _ in 0..<2 {
            var group: Set<NodeID> = []
            for _ in 0..<(try r.u32()) { group.insert(NodeID(try r.shortString())) }
            groups.append(group)
        }
        try r.finish()
        return SnapshotMetadata(index: index, term: term, conf: ConfState(voters: groups[0], learners: groups[1]))
    }

    private static func reader(_ bytes: [UInt8], _ what: String) throws(KVStoreError) -> ByteReader {
        var r = ByteReader(bytes, what: what)
        let v = try r.u8()
        guard v == version else { throw .corrupt("\(what): unknown version \(v)") }
        return r
    }
}
