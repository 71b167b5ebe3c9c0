import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Backups and restores (Docs/KVSTORE.md, "Backup and restore"): a backup is a snapshot file
/// written on request, apart from the snapshot Raft serves; a restore seeds an empty data
/// directory with one, for a cluster whose members the operator names.
extension DurableStore {
    /// Writes the applied state to `path` in the snapshot format and returns the position it
    /// holds. Everything applied before the call is in it: applies still in LMDB's open
    /// transaction are committed first. The log, the snapshot Raft serves and compaction are
    /// untouched; the read runs on the snapshot thread, so writes go on meanwhile.
    public func writeBackup(to path: String) async throws(KVStoreError) -> LogPosition {
        try await environment.onWriteThread { () throws(KVStoreError) in try self.applyQueued(commit: true) }
        return try await snapshotThread.run { () throws(KVStoreError) -> LogPosition in
            try self.environment.read { txn throws(KVStoreError) -> LogPosition in
                let applied = try self.stateMachine.applied(txn)
                var writer = try SnapshotWriter(file: try File(path: path, flags: O_RDWR | O_CREAT), applied: applied)
                try self.stateMachine.write(txn, to: &writer)
                try writer.finish()
                return applied
            }
        }
    }

    /// A name for a backup being written in this store's snapshot directory; whatever a
    /// crash leaves under such a name is removed at the next open.
    public func backupPath(_ name: String) -> String {
        files.directory + "/" + SnapshotFiles.backupPrefix + name + ".tmp"
    }

    /// Seeds the data directory `directory`, which must not exist or be empty, with the state
    /// in the backup file at `backup`, as the first state of a cluster whose members are
    /// `members` (the membership recorded in the file is replaced). Keys, revisions, history,
    /// leases and idempotency answers are kept; the log starts after the backup's revision,
    /// so the new cluster's revisions continue from there. Run it with the same backup and
    /// members for every member of the new cluster.
    public static func restore(backup: String, into directory: String, members: [MemberRecord],
                               options: StoreOptions = StoreOptions()) async throws -> SnapshotSummary {
        guard !members.isEmpty, members.contains(where: \.isVoter) else {
            throw RestoreRefusal("the new cluster needs at least one voting member")
        }
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard existing.isEmpty else {
            throw RestoreRefusal("\(directory) is not empty: restore into a new data directory")
        }
        // The copy with the new members is written beside the directory first, in the same
        // pass that checks the backup's checksum: a damaged file is refused before the
        // directory exists, and the file is read twice in all, not three times.
        let position = try SnapshotFormat.parseHeader(
            try File(path: backup, flags: O_RDONLY).read(at: 0, count: SnapshotFormat.headerSize))
        try File.makeDirectory(File.parent(of: directory))
        let copy = File.parent(of: directory) + "/.restoring-" + UUID().uuidString + ".tmp"
        defer { File.remove(copy) }
        var writer = try SnapshotWriter(file: try File(path: copy, flags: O_RDWR | O_CREAT), applied: position)
        for member in members { try writer.write(.member(member)) }
        let summary = try SnapshotSummary.read(path: backup) { record throws(KVStoreError) in
            if case .member = record { return }
            try writer.write(record)
        }
        try writer.finish()
        let store = try DurableStore(directory: directory, options: options)
        defer { store.close() }
        try File.rename(copy, to: store.files.stagingPath(position))
        let metadata = SnapshotMetadata(index: position.index, term: position.term, conf: MemberTable.confState(members))
        try await store.installSnapshot(metadata)
        // The new cluster starts in the backup's term, every entry up to its revision committed.
        try await store.persist(hardState: HardState(term: position.term, commit: position.index), entries: [])
        return summary
    }
}

/// Why `DurableStore.restore` refused to start; nothing was written.
public struct RestoreRefusal: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
