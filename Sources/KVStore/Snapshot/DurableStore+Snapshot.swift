import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension DurableStore {
    /// Writes a snapshot of the applied state to a file, makes it the snapshot RaftCore
    /// serves, and compacts the log up to `applied index - retainEntries` (entries kept
    /// behind the snapshot let a slightly lagging follower catch up without a snapshot).
    ///
    /// The state is read in one read transaction on the snapshot thread, so applies go on
    /// meanwhile; the file holds exactly the state at the applied index it records.
    ///
    /// When the current snapshot's file was found damaged (`LMDBRaftStorage.isSnapshotDamaged`)
    /// a new file is written even if the applied index has not moved; it replaces the damaged
    /// one under the same name, or supersedes it.
    @discardableResult
    public func createSnapshot(retainEntries: UInt64 = 0) async throws(KVStoreError) -> SnapshotMetadata {
        let current = log.storedSnapshot
        let unlessAt: UInt64? = log.isSnapshotDamaged ? nil : current.index
        let taken = try await snapshotThread.run { () throws(KVStoreError) -> SnapshotMetadata? in
            try self.writeSnapshotFile(unlessAt: unlessAt)
        }
        guard let taken else { return current }
        return try await environment.onWriteThread { () throws(KVStoreError) -> SnapshotMetadata in
            var result = taken
            try self.log.update { txn, s throws(KVStoreError) in
                guard taken.index > s.snapshot.index else {
                    result = s.snapshot
                    return
                }
                let compactTo = taken.index > retainEntries ? taken.index - retainEntries : 0
                try self.log.setSnapshot(taken, compactUpTo: compactTo, txn, &s)
            }
            let keep = LogPosition(index: result.index, term: result.term)
            self.files.removeFiles(prefix: "snapshot-", except: self.files.currentPath(keep))
            return result
        }
    }

    /// Compacts the log without writing a snapshot file (Docs/KVSTORE.md, "Log compaction
    /// and snapshots"): LMDB holds the applied state durably, so entries it has applied are
    /// needed only by a follower that lags; one that lags further than the log reaches is
    /// sent a snapshot taken then (`LMDBRaftStorage.isSnapshotWanted`).
    ///
    /// Each call notes the applied position and the membership in force there, and compacts
    /// to the newest noted position that is at least `retainEntries` behind the applied
    /// index: the log starts exactly at a position whose membership is known (RaftCore
    /// replays membership changes from where the log starts), and keeps at least
    /// `retainEntries` entries for followers that fell behind.
    public func compactLog(retainEntries: UInt64) async throws(KVStoreError) {
        try await environment.onWriteThread { () throws(KVStoreError) in
            try self.log.update { txn, s throws(KVStoreError) in
                let applied = try self.stateMachine.applied(txn)
                let conf = MemberTable.confState(try self.stateMachine.memberTable.all(txn))
                let here = SnapshotMetadata(index: applied.index, term: applied.term, conf: conf)
                var noted = self.notedLogBases.current
                // Positions a snapshot install or restore left behind are of no use.
                noted.removeAll { $0.index <= s.start.index || $0.index > applied.index }
                if let base = noted.last(where: { applied.index - $0.index >= retainEntries }) {
                    try self.log.compact(to: base, txn, &s)
                    noted.removeAll { $0.index <= base.index }
                }
                if noted.last?.index != here.index { noted.append(here) }
                self.notedLogBases.withLock { $0 = noted }
            }
        }
    }

    /// Replaces the state machine and the log with the fully staged snapshot `metadata`.
    /// The restore is one transaction: a crash leaves the old state or the new, never a mix,
    /// and a staged file that fails its checksum leaves the old state in place.
    public func installSnapshot(_ metadata: SnapshotMetadata) async throws(KVStoreError) {
        try await environment.onWriteThread { () throws(KVStoreError) in
            try self.installOnWriteThread(metadata)
        }
    }

    /// Removes every staged incoming snapshot, so the next transfer starts from offset 0.
    public func discardStagedSnapshots() async throws(KVStoreError) {
        try await environment.onWriteThread { () throws(KVStoreError) in try self.files.discardStaged() }
    }

    func installOnWriteThread(_ metadata: SnapshotMetadata) throws(KVStoreError) {
        let position = LogPosition(index: metadata.index, term: metadata.term)
        let staged = files.stagingPath(position)
        do {
            try log.update { txn, s throws(KVStoreError) in
                let file = try File(path: staged, flags: O_RDONLY)
                let applied = try stateMachine.restore(from: file, txn)
                guard applied == position else {
                    throw .snapshotInvalid("file holds \(applied.index)/\(applied.term), expected \(position.index)/\(position.term)")
                }
                try log.setSnapshot(metadata, compactUpTo: nil, txn, &s)
            }
        } catch .snapshotInvalid(let reason) {
            // Damaged in transit or on our disk: drop it so the next transfer starts afresh.
            try files.discardStaged()
            throw .snapshotInvalid(reason)
        }
        // Only now: an install that failed leaves the old state and the old revision.
        stateMachine.revisionApplied(position.index)
        // Crash before this rename: `SnapshotFiles.recover` finishes it at the next open.
        try files.publish(staged, as: position)
        log.snapshotPublished(at: position)
        files.removeFiles(prefix: "snapshot-", except: files.currentPath(position))
    }

    /// Returns nil when the applied index has not moved past `index` (nothing applied at
    /// all, when `index` is nil).
    private func writeSnapshotFile(unlessAt index: UInt64?) throws(KVStoreError) -> SnapshotMetadata? {
        let taking = try environment.read { txn throws(KVStoreError) -> (SnapshotMetadata, String)? in
            let applied = try stateMachine.applied(txn)
            guard applied.index > (index ?? 0) else { return nil }
            let conf = MemberTable.confState(try stateMachine.memberTable.all(txn))
            let path = files.takingPath(applied)
            var writer = try SnapshotWriter(file: try File(path: path, flags: O_RDWR | O_CREAT), applied: applied)
            try stateMachine.write(txn, to: &writer)
            try writer.finish()
            return (SnapshotMetadata(index: applied.index, term: applied.term, conf: conf), path)
        }
        guard let (metadata, path) = taking else { return nil }
        let position = LogPosition(index: metadata.index, term: metadata.term)
        try files.publish(path, as: position)
        log.snapshotPublished(at: position)
        return metadata
    }
}
