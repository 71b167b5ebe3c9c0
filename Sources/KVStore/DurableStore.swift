import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

public struct StoreOptions: Sendable {
    public var lmdb: LMDBOptions
    /// Client sessions remembered for exactly-once requests; must be equal on all replicas.
    public var sessionLimits: SessionLimits

    /// Size of each write-ahead log file (zero-filled ahead of use).
    public var walSegmentBytes: UInt64

    public init(lmdb: LMDBOptions = LMDBOptions(), sessionLimits: SessionLimits = SessionLimits(),
                walSegmentBytes: UInt64 = 16 << 20) {
        self.lmdb = lmdb
        self.sessionLimits = sessionLimits
        self.walSegmentBytes = walSegmentBytes
    }
}

/// Everything a node keeps on disk, in one data directory:
/// `wal/` (the write-ahead log, see `WriteAheadLog`), `lmdb/` (one environment: log, hard
/// state, key-value state, sessions, membership) and `snapshots/` (see `SnapshotFiles`).
/// The log and the state machine share the environment so that a snapshot install can
/// replace both in one transaction.
///
/// What must be durable before a node speaks (entries, a term, a vote) goes to the
/// write-ahead log first: one flush of one small append. LMDB then receives the same batch
/// together with the applies in a commit that takes one flush and that a power loss may
/// roll back; on open, whatever LMDB lost is replayed from the write-ahead log.
public final class DurableStore: Sendable {
    public let directory: String
    /// The Raft log, handed to RaftCore as its `RaftStorage`.
    public let log: LMDBRaftStorage
    public let stateMachine: KVStateMachine
    let environment: Environment
    let wal: WriteAheadLog
    let applyQueue = ApplyQueue()
    /// Told when a queued apply fails because LMDB is full (true) and when one succeeds
    /// after that (false). Set once, before the first `enqueueApply`.
    nonisolated(unsafe) public var storageFull: @Sendable (Bool) -> Void = { _ in }
    let files: SnapshotFiles
    /// Writes snapshot files so that a long snapshot never holds up the write thread.
    let snapshotThread: SerialThread
    /// Applied positions (with their membership) noted by `compactLog`, oldest first: where
    /// later calls may compact the log to.
    let notedLogBases = Locked<[SnapshotMetadata]>([])

    public init(directory: String, options: StoreOptions = StoreOptions()) throws(KVStoreError) {
        self.directory = directory
        snapshotThread = try SerialThread(name: "snapshot-writer")
        environment = try Environment(directory: directory + "/lmdb", databaseNames: Schema.all, options: options.lmdb)
        files = try SnapshotFiles(directory: directory + "/snapshots")
        log = try LMDBRaftStorage(environment: environment, snapshotFiles: files)
        let walDirectory = directory + "/wal"
        let lastSequence = try log.replay(try WriteAheadLog.recover(directory: walDirectory))
        // The last commits may have been replayable (their meta page not yet flushed): make
        // them durable before the old write-ahead log, which could replay them, is deleted.
        try environment.sync()
        wal = try WriteAheadLog(directory: walDirectory, nextSequence: lastSequence + 1,
                                segmentBytes: options.walSegmentBytes)
        log.lmdbDurable = { [wal] sequence in wal.lmdbHolds(through: sequence) }
        stateMachine = KVStateMachine(environment: environment, sessionLimits: options.sessionLimits)
        try stateMachine.markHistoryStart()
        try files.recover(current: log.storedSnapshot)
        environment.beforeTransact = { [unowned self] () throws(KVStoreError) in try self.applyQueued(commit: true) }
    }

    /// Set by `close`: a commit waiting for disk space gives up instead of holding it.
    let isClosing = Locked(false)

    /// Waits for queued writes, then closes. Reads must have stopped.
    public func close() {
        // Applied batches still in the open transaction are committed before LMDB closes.
        try? environment.onWriteThreadAndWait { () throws(KVStoreError) in try self.applyQueued(commit: true) }
        isClosing.withLock { $0 = true }
        snapshotThread.stop()
        wal.close()
        environment.close()
    }

    /// True once anything Raft-related was persisted: a node with state never bootstraps.
    public var hasRaftState: Bool {
        let (hardState, snapshot) = log.initialState()
        return hardState != .empty || !snapshot.isEmpty || log.lastIndex() > 0
    }

    /// The key limit of the linked LMDB.
    public var maxKeySize: Int { environment.maxKeySize }

    /// The LMDB map size now; it grows on demand.
    public var mapSize: Int { environment.currentMapSize }

    /// Bytes of LMDB's data file: what the store occupies on disk (it grows with the pages
    /// ever in use and never shrinks; etcd reports its bbolt file the same way).
    public var databaseFileBytes: UInt64? {
        try? File(path: directory + "/lmdb/data.mdb", flags: O_RDONLY).size()
    }

    /// Stages snapshot chunks, installs a completed snapshot, then writes the hard state and
    /// entries in one transaction (one sync for the whole batch), in that order.
    public func persist(
        hardState: HardState?,
        entries: [Entry],
        snapshotChunks: [SnapshotChunk] = [],
        installing snapshot: SnapshotMetadata? = nil
    ) async throws(KVStoreError) {
        try await environment.onWriteThread { () throws(KVStoreError) in
            if !snapshotChunks.isEmpty { try self.files.stage(snapshotChunks) }
            if let snapshot { try self.installOnWriteThread(snapshot) }
            if hardState != nil || !entries.isEmpty {
                try self.log.update { txn, s throws(KVStoreError) in
                    if let hardState { try self.log.setHardState(hardState, txn, &s) }
                    try self.log.append(entries, txn, &s)
                }
            }
        }
    }

    /// Step 1 of handling a `Ready`: makes its new term, vote and entries durable in the
    /// write-ahead log (one flush), after which its `messages` may leave: `durable` runs on
    /// the log's thread as soon as the flush returns, to send them without a thread switch.
    /// Returns the WAL record's sequence, to hand to `apply`, or nil (and `durable` is not
    /// called) when there was nothing to make durable or the Ready carries snapshot data,
    /// which `apply` then makes durable in LMDB.
    public func writeAhead(
        _ ready: Ready, durable: @escaping @Sendable () -> Void = {}
    ) async throws(KVStoreError) -> UInt64? {
        guard Self.persistence(of: ready) == .writeAheadLog else { return nil }
        let entries = ready.entries
        do {
            return try await wal.append(hardState: ready.hardState, entries: entries) { [log] sequence in
                log.logged(entries, sequence: sequence)
                durable()
            }
        } catch .storageFull {
            // Committing what waits for LMDB lets the log delete segments it no longer needs.
            environment.submitOnWriteThread { try? self.applyQueued() }
            throw .storageFull
        }
    }

    /// Step 2: one LMDB transaction that stages snapshot chunks, installs a completed
    /// snapshot, copies the hard state and entries into LMDB's log, and applies the
    /// committed entries (which are already durable from earlier batches). Returns what
    /// applying did.
    ///
    /// When `writeAhead` returned `walSequence`, everything here can be rebuilt from the
    /// write-ahead log and the log itself, so the commit takes one flush and a power loss
    /// may roll it back. Only a Ready that had to be durable without the write-ahead log
    /// (snapshot data) is committed fully durably (two flushes).
    ///
    /// `applied` is called with the results once they are known, just before the
    /// transaction commits (see `EarlyAnswers` for why answering then is safe).
    public func apply(
        _ ready: Ready, walSequence: UInt64?, applied: @escaping @Sendable ([AppliedEntry]) -> Void = { _ in }
    ) async throws(KVStoreError) -> [AppliedEntry] {
        guard Self.writes(ready) else { return [] }
        let durability: CommitDurability = ready.mustSync && walSequence == nil ? .durable : .replayable
        return try await environment.onWriteThread { () throws(KVStoreError) -> [AppliedEntry] in
            if !ready.snapshotChunks.isEmpty { try self.files.stage(ready.snapshotChunks) }
            if let snapshot = ready.snapshotToInstall { try self.installOnWriteThread(snapshot) }
            var results: [AppliedEntry] = []
            try self.log.update(durability, mirroring: walSequence, { txn, s throws(KVStoreError) in
                results = try self.copyAndApply(ready, txn, &s)
            }, beforeCommit: { applied(results) })
            return results
        }
    }

    /// The body of step 2 inside a write transaction: the Ready's hard state and entries
    /// into LMDB's log, then its committed entries into the state machine.
    func copyAndApply(_ ready: Ready, _ txn: Transaction, _ s: inout LMDBRaftStorage.State) throws(KVStoreError) -> [AppliedEntry] {
        if let hardState = ready.hardState { try log.setHardState(hardState, txn, &s) }
        try log.append(ready.entries, txn, &s)
        return try stateMachine.apply(ready.committedEntries, txn)
    }

    /// Both steps, for callers that send nothing in between.
    public func persistAndApply(
        _ ready: Ready, applied: @escaping @Sendable ([AppliedEntry]) -> Void = { _ in }
    ) async throws(KVStoreError) -> [AppliedEntry] {
        let sequence = try await writeAhead(ready)
        return try await apply(ready, walSequence: sequence, applied: applied)
    }

    /// How a Ready becomes durable before its messages may leave the node.
    public enum Persistence: Sendable, Equatable {
        /// Nothing in it must be durable first: its messages may leave at once.
        case none
        /// New entries, term or vote: one append and flush of the write-ahead log
        /// (`writeAhead`), mirrored into LMDB later.
        case writeAheadLog
        /// Snapshot data: staged or installed in LMDB itself, in one transaction (`apply`).
        case snapshot
    }

    /// The one place that decides how `ready` is persisted; `writeAhead` and the runtime
    /// both ask here.
    public static func persistence(of ready: Ready) -> Persistence {
        guard ready.mustSync else { return .none }
        return ready.snapshotChunks.isEmpty && ready.snapshotToInstall == nil ? .writeAheadLog : .snapshot
    }

    /// Whether `persistAndApply(ready)` has anything to write.
    public static func writes(_ ready: Ready) -> Bool {
        ready.mustSync || ready.hardState != nil || !ready.committedEntries.isEmpty
    }

    /// How many bytes of `metadata`'s snapshot are staged, so a transfer can resume there.
    public func stagedSnapshotBytes(for metadata: SnapshotMetadata) -> UInt64 {
        files.stagedSize(LogPosition(index: metadata.index, term: metadata.term))
    }
}
