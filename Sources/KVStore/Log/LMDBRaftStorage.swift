import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// RaftCore's durable log: LMDB's copy plus, in memory, the entries the write-ahead log holds
/// that LMDB does not yet and a few megabytes of the newest ones it does (`UnmirroredEntries`). Reads answer from a cached view of the log's
/// bounds plus a read transaction on the caller's thread; every LMDB change runs on the
/// write thread in one transaction and only then replaces the cached view, so readers never
/// see a write that might still be rolled back.
public final class LMDBRaftStorage: RaftStorage, @unchecked Sendable {
    struct State: Sendable, Equatable {
        var hardState: HardState
        /// The snapshot whose file `snapshots/` holds, for a follower that needs one.
        var snapshot: SnapshotMetadata
        /// Where the log was last compacted to without a snapshot file (the index, its term
        /// and the membership in force there; `DurableStore.compactLog`). LMDB holds the
        /// applied state, so compacting the log needs no file: one is written only when a
        /// follower needs it (Docs/KVSTORE.md, "Log compaction and snapshots").
        var base: SnapshotMetadata
        /// The position just before the first entry (the compaction marker).
        var start: LogPosition
        /// The last index of LMDB's copy of the log.
        var storedLastIndex: UInt64
        /// The last WAL record LMDB holds.
        var walSequence: UInt64
        /// Set by a transaction that replaced the whole log (a received snapshot).
        var logReplaced = false
        /// Set by a transaction that changed LMDB's copy of the log.
        var logChanged = false
    }

    /// What readers see, under one lock: LMDB's log state and the in-memory run. The run is
    /// never copied out of the lock, not even by a transaction that holds `State` while it
    /// is open: a second reference to its arrays would make every append and every commit
    /// copy the whole run (tens of thousands of entries under load).
    struct Shared {
        var log: State
        var unmirrored = UnmirroredEntries()
        /// RaftCore asked for a snapshot to send while the current one was older than the
        /// log's start. Set and cleared under the same lock as `log`, so a request that saw
        /// the old snapshot cannot leave it set after a new one is in place.
        var snapshotWanted = false

        /// The log's last index, counting what only the write-ahead log holds yet.
        var lastIndex: UInt64 { unmirrored.lastUnmirroredIndex ?? log.storedLastIndex }
    }

    let environment: Environment
    let snapshotFiles: SnapshotFiles
    private let logDB: Database
    private let metaDB: Database
    private let shared: Locked<Shared>
    /// LMDB's log state as last committed.
    var state: State { shared.withLock { $0.log } }
    /// Told which WAL record LMDB holds durably after each commit (`DurableStore` passes it
    /// on to the write-ahead log, which then deletes what it no longer needs).
    var lmdbDurable: @Sendable (UInt64) -> Void = { _ in }
    /// Write thread only: the WAL sequence of the previous commit, durable once the next
    /// commit's flush has run (a replayable commit leaves its meta page for that flush).
    private var previousCommitSequence: UInt64 = 0

    init(environment: Environment, snapshotFiles: SnapshotFiles) throws(KVStoreError) {
        self.environment = environment
        self.snapshotFiles = snapshotFiles
        let logDB = environment.database(Schema.log)
        let metaDB = environment.database(Schema.meta)
        self.logDB = logDB
        self.metaDB = metaDB
        let loaded = try environment.read { txn throws(KVStoreError) -> State in
            let hardState = try txn.get(metaDB, Schema.MetaKey.hardState).map(LogCodec.decodeHardState) ?? .empty
            let snapshot = try txn.get(metaDB, Schema.MetaKey.snapshot).map(LogCodec.decodeSnapshotMetadata) ?? .empty
            let start = try txn.get(metaDB, Schema.MetaKey.logStart).map(LogCodec.decodePosition) ?? .zero
            let last = try txn.withCursor(logDB) { c throws(KVStoreError) in try c.last() }
            let lastIndex = try last.map { pair throws(KVStoreError) -> UInt64 in
                guard let index = UInt64(orderedKey: pair.key) else { throw .corrupt("log key of \(pair.key.count) bytes") }
                return index
            } ?? start.index
            let walSequence = try txn.get(metaDB, Schema.MetaKey.walSequence).map(LogCodec.decodeSequence) ?? 0
            // Directories from before log compaction without snapshots have no base: the
            // snapshot is where their log starts after.
            let base = try txn.get(metaDB, Schema.MetaKey.logBase).map(LogCodec.decodeSnapshotMetadata) ?? snapshot
            return State(hardState: hardState, snapshot: snapshot, base: base, start: start, storedLastIndex: lastIndex,
                         walSequence: walSequence)
        }
        self.shared = Locked(Shared(log: loaded))
        self.previousCommitSequence = loaded.walSequence
    }

    // MARK: RaftStorage

    /// RaftCore restarts from the newer of the snapshot and the base: it replays membership
    /// changes from there, and the log holds every entry after either.
    public func initialState() -> (hardState: HardState, snapshot: SnapshotMetadata) {
        let s = state
        return (s.hardState, s.snapshot.index >= s.base.index ? s.snapshot : s.base)
    }

    public func firstIndex() -> UInt64 { state.start.index + 1 }
    public func lastIndex() -> UInt64 { shared.withLock { $0.lastIndex } }

    /// The snapshot RaftCore may send: `.empty` while the current one is known damaged, or
    /// is older than where the log now starts (a follower given it would still lack the
    /// entries in between), so RaftCore starts no transfer (and does not retry one in a
    /// loop) until the runtime has taken a new one. RaftCore asks only when a follower
    /// needs a snapshot, so an outdated one is also the signal to take it
    /// (`isSnapshotWanted`). Everything else asks `storedSnapshot`.
    public func snapshotMetadata() -> SnapshotMetadata {
        let (snapshot, outdated) = shared.withLock { s -> (SnapshotMetadata, Bool) in
            let outdated = s.log.snapshot.index < s.log.start.index
            if outdated { s.snapshotWanted = true }
            return (s.log.snapshot, outdated)
        }
        return outdated || damagedSnapshot.current == snapshot ? .empty : snapshot
    }

    /// A follower needed a snapshot and the current one is older than the log's start: the
    /// runtime takes a new one (`DurableStore.createSnapshot`). Cleared once a new snapshot
    /// is in place.
    public var isSnapshotWanted: Bool { shared.withLock { $0.snapshotWanted } }

    /// The snapshot the log starts after, damaged or not.
    public var storedSnapshot: SnapshotMetadata { state.snapshot }

    /// Whether the current snapshot file failed its check: it must be taken again (see
    /// `DurableStore.createSnapshot`) before anyone is sent a snapshot.
    public var isSnapshotDamaged: Bool { damagedSnapshot.current == state.snapshot }

    /// The current snapshot once `snapshotData` found its file damaged; cleared when a
    /// snapshot is published again.
    let damagedSnapshot = Locked<SnapshotMetadata?>(nil)

    public func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        let (start, lastIndex, retained) = shared.withLock { ($0.log.start, $0.lastIndex, $0.unmirrored.entry(at: index)) }
        if index < start.index { throw .compacted }
        if index > lastIndex { throw .unavailable }
        if index == start.index { return start.term }
        if let retained { return retained.term }
        let db = logDB
        let term = readOrStop("term(at: \(index))") { txn throws(KVStoreError) in
            try txn.get(db, index.orderedKey).map { bytes throws(KVStoreError) in try LogCodec.decodeTerm(index: index, bytes) }
        }
        guard let term else { throw missing(index) }
        return term
    }

    public func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        // The run's part is taken under the lock with the bounds, so both describe one
        // moment; only up to `maxBytes` of it is copied out.
        let (start, lastIndex, split, run) = shared.withLock { s -> (LogPosition, UInt64, UInt64, [Entry]) in
            let split = s.unmirrored.firstIndex ?? hi
            var run: [Entry] = []
            var size = 0
            if lo < hi { s.unmirrored.slice(max(lo, split), hi, maxBytes: maxBytes, size: &size, into: &run) }
            return (s.log.start, s.lastIndex, split, run)
        }
        if lo <= start.index { throw .compacted }
        if hi > lastIndex + 1 { throw .unavailable }
        guard lo < hi else { return [] }
        // LMDB's copy up to where the unmirrored run starts (LMDB may still hold older,
        // replaced versions of the entries after that), then the run.
        var result = lo < split ? try storedEntries(from: lo, to: min(hi, split), maxBytes: maxBytes) : []
        var size = result.reduce(0) { $0 + $1.byteSize }
        if lo + UInt64(result.count) >= split {
            for entry in run {
                if !result.isEmpty && size + entry.byteSize > maxBytes { break }
                size += entry.byteSize
                result.append(entry)
            }
        }
        if result.isEmpty { throw missing(lo) }
        return result
    }

    private func storedEntries(from lo: UInt64, to hi: UInt64, maxBytes: Int) throws(RaftStorageError) -> [Entry] {
        let db = logDB
        let result = readOrStop("entries(\(lo)..<\(hi))") { txn throws(KVStoreError) -> [Entry] in
            try txn.withCursor(db) { cursor throws(KVStoreError) -> [Entry] in
                var result: [Entry] = []
                var size = 0
                var pair = try cursor.seek(atLeast: lo.orderedKey)
                while let (key, value) = pair, let index = UInt64(orderedKey: key), index < hi {
                    // A concurrent truncation can leave a hole; the caller then sees a short answer.
                    guard index == lo + UInt64(result.count) else { break }
                    let entry = try LogCodec.decodeEntry(index: index, value)
                    if !result.isEmpty && size + entry.byteSize > maxBytes { break }
                    size += entry.byteSize
                    result.append(entry)
                    pair = try cursor.next()
                }
                return result
            }
        }
        if result.isEmpty { throw missing(lo) }
        return result
    }

    /// A transfer starts at offset 0, and there the whole file is checked first (read once,
    /// on the caller's thread: transfers are rare and a damaged file must not leave the
    /// node). A file that fails the check, or any read, is marked damaged: RaftCore then
    /// sees no snapshot to send until the runtime has taken a new one.
    public func snapshotData(offset: UInt64, maxBytes: Int) throws(RaftStorageError) -> (bytes: [UInt8], isLast: Bool) {
        let snapshot = state.snapshot
        if snapshot.isEmpty || damagedSnapshot.current == snapshot { throw .snapshotUnavailable }
        do {
            if offset == 0 { try snapshotFiles.verify(snapshot) }
            return try snapshotFiles.read(snapshot, offset: offset, maxBytes: maxBytes)
        } catch {
            damagedSnapshot.withLock { $0 = snapshot }
            throw .snapshotUnavailable
        }
    }

    /// A snapshot file was published at `position`: a damaged snapshot at or below it is
    /// replaced (the same name is renamed over) or superseded.
    func snapshotPublished(at position: LogPosition) {
        damagedSnapshot.withLock { damaged in
            if let d = damaged, d.index <= position.index { damaged = nil }
        }
    }

    // MARK: Writes

    /// Group commit: the hard state and all `entries` (which replace any conflicting suffix)
    /// in one transaction, so one disk sync covers the whole batch and a crash keeps either
    /// all of it or none of it. Straight to LMDB, bypassing the write-ahead log: for
    /// bootstrap and tests only, never while batches are queued (`DurableStore.persist`
    /// commits those first).
    public func persist(hardState: HardState?, entries: [Entry]) async throws(KVStoreError) {
        guard hardState != nil || !entries.isEmpty else { return }
        try await environment.onWriteThread { () throws(KVStoreError) in
            try self.update { txn, s throws(KVStoreError) in
                if let hardState { try self.setHardState(hardState, txn, &s) }
                try self.append(entries, txn, &s)
            }
        }
    }

    /// Drops entries up to and including `index` (clamped to the last index). Like
    /// `MemoryStorage.compact`, the caller makes sure a snapshot covers them.
    public func compact(upTo index: UInt64) async throws(KVStoreError) {
        try await environment.onWriteThread { () throws(KVStoreError) in
            try self.update { txn, s throws(KVStoreError) in try self.compact(upTo: index, txn, &s) }
        }
    }

    /// Runs one write transaction over the log state and publishes the new state once it
    /// has committed. `mirroring` names the WAL record whose hard state and entries the
    /// transaction copies into LMDB: its unmirrored entries are then dropped from memory.
    /// Write thread only.
    func update(
        _ durability: CommitDurability = .durable, mirroring sequence: UInt64? = nil,
        _ body: (Transaction, inout State) throws(KVStoreError) -> Void,
        beforeCommit: () -> Void = {}
    ) throws(KVStoreError) {
        let after = try environment.transact(durability, { txn throws(KVStoreError) -> State in
            // Read here, not before `transact`: it first commits queued applies, which move it.
            var s = state
            try body(txn, &s)
            try finish(&s, mirroring: sequence, durability, txn)
            return s
        }, beforeCommit: { _ in beforeCommit() })
        committed(after, mirroring: sequence, durability)
    }

    /// A transaction over the log state that stays open across jobs on the write thread
    /// (queued applies), finished by `commit` or `abort`.
    struct OpenUpdate {
        let txn: Transaction
        var state: State
        var mirroring: UInt64?
    }

    func begin() throws(KVStoreError) -> OpenUpdate {
        OpenUpdate(txn: try environment.beginWrite(.replayable), state: state)
    }

    /// Commits a replayable `OpenUpdate` and publishes its state. The transaction is gone
    /// afterwards, even when this throws.
    func commit(_ open: OpenUpdate) throws(KVStoreError) {
        var after = open.state
        do throws(KVStoreError) {
            try finish(&after, mirroring: open.mirroring, .replayable, open.txn)
        } catch {
            environment.abort(open.txn)
            throw error
        }
        try environment.commit(open.txn)
        committed(after, mirroring: open.mirroring, .replayable)
    }

    func abort(_ open: OpenUpdate) { environment.abort(open.txn) }

    private func finish(_ s: inout State, mirroring sequence: UInt64?, _ durability: CommitDurability, _ txn: Transaction) throws(KVStoreError) {
        if let sequence { s.walSequence = sequence }
        // Always written when durable: LMDB skips the syncs of a transaction that changed
        // nothing, and this one must not be reported durable without them.
        if sequence != nil || durability == .durable {
            try txn.put(metaDB, Schema.MetaKey.walSequence, LogCodec.encode(sequence: s.walSequence))
        }
    }

    private func committed(_ after: State, mirroring sequence: UInt64?, _ durability: CommitDurability) {
        shared.withLock { current in
            // The write-ahead side may have added entries meanwhile: they stay.
            if let sequence { current.unmirrored.mirrored(through: sequence) }
            if after.logReplaced {
                current.unmirrored.removeAll()
            } else if after.logChanged && sequence == nil {
                current.unmirrored.forgetMirrored()
            }
            if after.snapshot != current.log.snapshot { current.snapshotWanted = false }
            current.log = after
            current.log.logReplaced = false
            current.log.logChanged = false
        }
        lmdbDurable(durability == .durable ? after.walSequence : previousCommitSequence)
        previousCommitSequence = after.walSequence
    }

    /// Makes `entries` (and the log's new end) readable once the write-ahead log holds them
    /// durably, before LMDB does.
    func logged(_ entries: [Entry], sequence: UInt64) {
        shared.withLock { $0.unmirrored.append(entries, sequence: sequence) }
    }

    /// Copies into LMDB the WAL records it lost (a power loss rolled back their replayable
    /// commits, or the process stopped before they were mirrored), in one durable commit.
    /// Returns the last sequence the log has used.
    func replay(_ records: [WALRecord]) throws(KVStoreError) -> UInt64 {
        let held = state.walSequence
        let missing = records.filter { $0.sequence > held }
        guard let last = missing.last else { return max(held, records.last?.sequence ?? 0) }
        // Segments go only once LMDB holds their records, so the next one must be there.
        guard missing[0].sequence == held + 1 else {
            throw .corrupt("write-ahead log resumes at record \(missing[0].sequence) but LMDB holds only up to \(held)")
        }
        try environment.onWriteThreadAndWait { () throws(KVStoreError) in
            try self.update(.durable, mirroring: last.sequence) { txn, s throws(KVStoreError) in
                for record in missing {
                    if let hardState = record.hardState { try self.setHardState(hardState, txn, &s) }
                    try self.append(record.entries, txn, &s)
                }
            }
        }
        return last.sequence
    }

    func setHardState(_ hardState: HardState, _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        try txn.put(metaDB, Schema.MetaKey.hardState, LogCodec.encode(hardState))
        s.hardState = hardState
    }

    func append(_ entries: [Entry], _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        guard let first = entries.first else { return }
        guard first.index > s.start.index, first.index <= s.storedLastIndex + 1 else {
            throw .outOfOrder(expected: s.storedLastIndex + 1, got: first.index)
        }
        for (offset, entry) in entries.enumerated() where entry.index != first.index + UInt64(offset) {
            throw .outOfOrder(expected: first.index + UInt64(offset), got: entry.index)
        }
        if first.index <= s.storedLastIndex {
            try txn.withCursor(logDB) { c throws(KVStoreError) in
                var pair = try c.seek(atLeast: first.index.orderedKey)
                while pair != nil {
                    try c.deleteCurrent()
                    pair = try c.seek(atLeast: first.index.orderedKey)
                }
            }
        }
        for entry in entries {
            try txn.put(logDB, entry.index.orderedKey, LogCodec.encode(entry), append: true)
        }
        s.storedLastIndex = entries[entries.count - 1].index
        s.logChanged = true
    }

    func compact(upTo index: UInt64, _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        guard index > s.start.index else { return }
        let cut = min(index, s.storedLastIndex)
        guard let bytes = try txn.get(logDB, cut.orderedKey) else { throw .corrupt("log entry \(cut) missing") }
        let marker = LogPosition(index: cut, term: try LogCodec.decodeTerm(index: cut, bytes))
        try deleteEntries(through: cut, txn)
        try setStart(marker, txn, &s)
        s.logChanged = true
    }

    /// Compacts the log up to `base` (see `State.base`), which the caller read from the
    /// applied state in this transaction or earlier.
    func compact(to base: SnapshotMetadata, _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        guard base.index > s.start.index, base.index > s.snapshot.index else { return }
        try compact(upTo: base.index, txn, &s)
        try txn.put(metaDB, Schema.MetaKey.logBase, LogCodec.encode(base))
        s.base = base
    }

    /// Records a snapshot taken or received at `metadata`. The log is compacted up to
    /// `compactUpTo`, or replaced by the snapshot when that is nil (a received snapshot) or
    /// when the snapshot reaches past the log's end.
    func setSnapshot(_ metadata: SnapshotMetadata, compactUpTo: UInt64?, _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        try txn.put(metaDB, Schema.MetaKey.snapshot, LogCodec.encode(metadata))
        s.snapshot = metadata
        if let compactUpTo, metadata.index < s.storedLastIndex {
            try compact(upTo: min(compactUpTo, metadata.index), txn, &s)
        } else {
            try txn.clear(logDB)
            try setStart(LogPosition(index: metadata.index, term: metadata.term), txn, &s)
            s.storedLastIndex = metadata.index
            s.logChanged = true
            // A received snapshot replaces the whole log, including any unmirrored run.
            if compactUpTo == nil { s.logReplaced = true }
        }
        if s.hardState.commit < metadata.index {
            var hardState = s.hardState
            hardState.commit = metadata.index
            try setHardState(hardState, txn, &s)
        }
    }

    private func setStart(_ start: LogPosition, _ txn: Transaction, _ s: inout State) throws(KVStoreError) {
        try txn.put(metaDB, Schema.MetaKey.logStart, LogCodec.encode(start))
        s.start = start
    }

    private func deleteEntries(through index: UInt64, _ txn: Transaction) throws(KVStoreError) {
        // Log keys are big-endian indexes, so "at or below `index`" is "before `index + 1`".
        guard index < .max else { return try txn.clear(logDB) }
        try txn.withCursor(logDB) { c throws(KVStoreError) in try c.deleteLeading(before: (index + 1).orderedKey) }
    }

    /// `RaftStorage` cannot report I/O failures, and a log that cannot be read cannot be
    /// trusted to answer anything, so this stops the process (as etcd does, a logged exit,
    /// not a trap) rather than letting Raft act on a wrong answer. Running out of reader
    /// slots or descriptors passes as soon as a reader finishes, so that is retried for up to
    /// 200 ms first.
    private func readOrStop<T>(_ what: String, _ body: (Transaction) throws(KVStoreError) -> T) -> T {
        var attempts = 0
        while true {
            do {
                return try environment.read(body)
            } catch where error.isResourceExhausted && attempts < 100 {
                attempts += 1
                usleep(2_000)
            } catch {
                StandardError.exit("kv-node: LMDB log read \(what) failed; stopping: \(error)", status: 1)
            }
        }
    }

    /// An entry that vanished between the bounds check and the read: a concurrent write moved
    /// the log's bounds, so answer from the new bounds.
    private func missing(_ index: UInt64) -> RaftStorageError {
        index <= state.start.index ? .compacted : .unavailable
    }
}
