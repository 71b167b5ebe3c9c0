/// Identifies a snapshot: the last log position it covers and the membership at that point.
public struct SnapshotMetadata: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var conf: ConfState

    public init(index: UInt64 = 0, term: UInt64 = 0, conf: ConfState = ConfState()) {
        self.index = index
        self.term = term
        self.conf = conf
    }

    public static let empty = SnapshotMetadata()
    public var isEmpty: Bool { index == 0 }
}

/// One piece of a snapshot on the wire. Large states stream as a sequence of chunks so no
/// single message has to hold the whole state.
public struct SnapshotChunk: Sendable, Equatable {
    public var metadata: SnapshotMetadata
    /// Byte offset of `data` within the snapshot stream.
    public var offset: UInt64
    public var data: [UInt8]
    /// True on the final chunk.
    public var isLast: Bool

    public init(metadata: SnapshotMetadata, offset: UInt64, data: [UInt8], isLast: Bool) {
        self.metadata = metadata
        self.offset = offset
        self.data = data
        self.isLast = isLast
    }
}
