import Foundation
import RaftCore

public struct StoreOptions: Sendable {
    public var lmdb: LMDBOptions
    /// Client sessions remembered for exactly-once requests; must be equal on all replicas.
    public var sessionLimit: Int

    public init(lmdb: LMDBOptions = LMDBOptions(), sessionLimit: Int = 10_000) {
        self.lmdb = lmdb
        self.sessionLimit = sessionLimit
    }
}

/// Everything a node keeps on disk, in one data directory:
/// `lmdb/` (one environment: log, hard state, key-value state, sessions, membership) and
/// `snapshots/` (see `SnapshotFiles`). The log and the state machine share the environment
/// so that a snapshot install can replace both in one transaction.
public final class DurableStore: Sendable {
    public let directory: String
    /// The Raft log, handed to RaftCore as its `RaftStorage`.
    public let log: LMDBRaftStorage
    public let stateMachine: KVStateMachine
    let environment: Environment
    let files: SnapshotFiles
    /// Writes snapshot files so that a long snapshot never holds up the write thread.
    let snapshotThread = SerialThread(name: "snapshot-writer")

    public init(directory: String, options: StoreOptions = StoreOptions()) throws(KVStoreError) {
        self.directory = directory
        environment = try Environment(directory: directory + "/lmdb", databaseNames: Schema.all, options: options.lmdb)
        files = try SnapshotFiles(directory: directory + "/snapshots")
        log = try LMDBRaftStorage(environment: environment, snapshotFiles: files)
        stateMachine = KVStateMachine(environment: environment, sessionLimit: options.sessionLimit)
        try files.recover(current: log.snapshotMetadata())
    }

    /// Waits for queued writes, then closes. Reads must have stopped.
    public func close() {
        snapshotThread.stop()
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

    /// Step 1 of handling a `Ready`: everything in it that must be durable before messages
    /// leave.
    public func persist(_ ready: Ready) async throws(KVStoreError) {
        guard ready.mustSync else { return }
        try await persist(
            hardState: ready.hardState,
            entries: ready.entries,
            snapshotChunks: ready.snapshotChunks,
            installing: ready.snapshotToInstall
        )
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

    /// Handles a whole `Ready` in one write transaction: stages snapshot chunks, installs a
    /// completed snapshot, writes hard state and entries, and applies the committed entries
    /// (which are already durable from earlier batches). Returns what applying did.
    ///
    /// When the Ready must not be lost (new term, vote, entries or snapshot data) the
    /// transaction is fully durable. When it only moves the commit index and applies, a
    /// power loss may roll it back without harm: the entries are in the durable log and are
    /// applied again on restart, so it takes one sync instead of two.
    ///
    /// `applied` is called with the results once they are known, just before the
    /// transaction commits (see `EarlyAnswers` for why answering then is safe).
    public func persistAndApply(
        _ ready: Ready, applied: @escaping @Sendable ([AppliedEntry]) -> Void = { _ in }
    ) async throws(KVStoreError) -> [AppliedEntry] {
        guard Self.writes(ready) else { return [] }
        let durability: CommitDurability = ready.mustSync ? .durable : .replayable
        return try await environment.onWriteThread { () throws(KVStoreError) -> [AppliedEntry] in
            if !ready.snapshotChunks.isEmpty { try self.files.stage(ready.snapshotChunks) }
            if let snapshot = ready.snapshotToInstall { try self.installOnWriteThread(snapshot) }
            var results: [AppliedEntry] = []
            try self.log.update(durability, { txn, s throws(KVStoreError) in
                if let hardState = ready.hardState { try self.log.setHardState(hardState, txn, &s) }
                try self.log.append(ready.entries, txn, &s)
                results = try self.stateMachine.apply(ready.committedEntries, txn)
            }, beforeCommit: { applied(results) })
            return results
        }
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
