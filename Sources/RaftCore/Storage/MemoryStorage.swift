/// A `RaftStorage` kept in memory. Tests and the simulator use it; a "crash" keeps this
/// object (what was persisted) and throws away the `RaftNode` (what was not).
public final class MemoryStorage: RaftStorage {
    public private(set) var hardState: HardState
    /// `log[0]` stands for the snapshot: its index and term mark where the log starts.
    private var log: [Entry]
    private var snapshot: SnapshotMetadata
    private var snapshotBytes: [UInt8]

    public init() {
        hardState = .empty
        log = [Entry(term: 0, index: 0)]
        snapshot = .empty
        snapshotBytes = []
    }

    public func initialState() -> (hardState: HardState, snapshot: SnapshotMetadata) {
        (hardState, snapshot)
    }

    public func firstIndex() -> UInt64 { log[0].index + 1 }
    public func lastIndex() -> UInt64 { log[0].index + UInt64(log.count - 1) }
    public func snapshotMetadata() -> SnapshotMetadata { snapshot }

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let offset = log[0].index
        if index < offset { throw .compacted }
        if index > lastIndex() { throw .unavailable }
        return log[Int(index - offset)].term
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        let offset = log[0].index
        if lo <= offset { throw .compacted }
        if hi > lastIndex() + 1 { throw .unavailable }
        var result: [Entry] = []
        var size = 0
        for position in Int(lo - offset)..<Int(hi - offset) {
            let entry = log[position]
            if !result.isEmpty && size + entry.byteSize > maxBytes { break }
            size += entry.byteSize
            result.append(entry)
        }
        return result
    }

    public func snapshotData(offset: UInt64, maxBytes: Int) throws(RaftStorageError) -> (bytes: [UInt8], isLast: Bool) {
        if snapshot.isEmpty { throw .snapshotUnavailable }
        let start = min(Int(offset), snapshotBytes.count)
        let end = min(start + max(maxBytes, 1), snapshotBytes.count)
        return (Array(snapshotBytes[start..<end]), end == snapshotBytes.count)
    }

    // MARK: Writes (done by the application after a Ready)

    public func setHardState(_ state: HardState) { hardState = state }

    /// Appends entries, first dropping any existing suffix they overwrite.
    public func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        let offset = log[0].index
        precondition(first.index > offset, "append below the snapshot")
        precondition(first.index <= lastIndex() + 1, "append leaves a gap")
        log.removeSubrange(Int(first.index - offset)...)
        log.append(contentsOf: entries)
    }

    /// Replaces the whole log with a received snapshot.
    public func installSnapshot(_ metadata: SnapshotMetadata, data: [UInt8]) {
        snapshot = metadata
        snapshotBytes = data
        log = [Entry(term: metadata.term, index: metadata.index)]
        if hardState.commit < metadata.index { hardState.commit = metadata.index }
    }

    /// Records a snapshot the application took at `metadata.index` and drops the log before it.
    public func createSnapshot(_ metadata: SnapshotMetadata, data: [UInt8]) {
        precondition(metadata.index <= lastIndex(), "snapshot beyond the log")
        guard metadata.index > snapshot.index else { return }
        snapshot = metadata
        snapshotBytes = data
        compact(upTo: metadata.index)
    }

    /// Discards entries up to and including `index`, which must be covered by a snapshot.
    public func compact(upTo index: UInt64) {
        let offset = log[0].index
        guard index > offset else { return }
        let cut = Int(min(index, lastIndex()) - offset)
        let marker = Entry(term: log[cut].term, index: log[cut].index)
        log.removeSubrange(0...cut)
        log.insert(marker, at: 0)
    }
}
