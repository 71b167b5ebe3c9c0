/// Why a storage read could not be answered.
public enum RaftStorageError: Error, Sendable, Equatable {
    /// The index is at or below the last snapshot: the entry is gone, send a snapshot.
    case compacted
    /// The index is past the end of the stable log.
    case unavailable
    /// The state machine has not produced a snapshot yet.
    case snapshotUnavailable
}

/// The durable log as RaftCore reads it. The application writes to its storage after each
/// `Ready` (entries, hard state, snapshots) and RaftCore only reads through this protocol,
/// so the core itself performs no I/O: an in-memory storage makes it fully deterministic.
///
/// Indexes follow the paper: the first entry has index 1; index 0 is the empty log.
public protocol RaftStorage: AnyObject {
    /// The hard state last persisted and the snapshot the log starts after.
    func initialState() -> (hardState: HardState, snapshot: SnapshotMetadata)
    /// Index of the first entry still in the log (snapshot index + 1).
    func firstIndex() -> UInt64
    /// Index of the last persisted entry (the snapshot index when the log is empty).
    func lastIndex() -> UInt64
    /// Term of the entry at `index`; the snapshot's own index answers with its term.
    func term(at index: UInt64) throws(RaftStorageError) -> UInt64
    /// Entries in `lo..<hi`, stopping early once `maxBytes` is reached but always returning
    /// at least one entry when the range is not empty.
    func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry]
    /// The latest snapshot's metadata (`.empty` when none was taken).
    func snapshotMetadata() -> SnapshotMetadata
    /// Up to `maxBytes` of the latest snapshot's serialized state starting at `offset`.
    func snapshotData(offset: UInt64, maxBytes: Int) throws(RaftStorageError) -> (bytes: [UInt8], isLast: Bool)
}
