import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The snapshot files of a data directory:
/// - `snapshot-<index>-<term>.snap`: the snapshot the log starts after, served by offset;
/// - `incoming-<index>-<term>.part`: chunks of a snapshot being received, staged durably;
/// - `taking-<index>-<term>.tmp`: a snapshot being written, renamed into place when complete;
/// - `backup-<name>.tmp`: a backup being written or streamed (`GET /snapshot`), removed after.
/// Names carry index and term so a file always says which snapshot it is.
final class SnapshotFiles: Sendable {
    let directory: String
    static let backupPrefix = "backup-"

    init(directory: String) throws(KVStoreError) {
        self.directory = directory
        try File.makeDirectory(directory)
    }

    func currentPath(_ p: LogPosition) -> String { path("snapshot", p, "snap") }
    func stagingPath(_ p: LogPosition) -> String { path("incoming", p, "part") }
    func takingPath(_ p: LogPosition) -> String { path("taking", p, "tmp") }

    func read(_ metadata: SnapshotMetadata, offset: UInt64, maxBytes: Int) throws(KVStoreError) -> (bytes: [UInt8], isLast: Bool) {
        let file = try File(path: currentPath(LogPosition(index: metadata.index, term: metadata.term)), flags: O_RDONLY)
        let size = try file.size()
        let start = min(offset, size)
        let count = Int(min(UInt64(max(maxBytes, 1)), size - start))
        let bytes = try file.read(at: start, count: count)
        return (bytes, start + UInt64(bytes.count) == size)
    }

    /// Reads the whole snapshot file of `metadata` and checks what installing it would: the
    /// header names `metadata`'s position, every record decodes, the trailer's count and
    /// CRC-32 match. A leader runs this before it starts sending a snapshot, so it never
    /// streams a file that bit rot or a bad disk damaged after it was written.
    func verify(_ metadata: SnapshotMetadata) throws(KVStoreError) {
        let position = LogPosition(index: metadata.index, term: metadata.term)
        var reader = SnapshotReader(file: try File(path: currentPath(position), flags: O_RDONLY))
        let holds = try reader.readAll { _ throws(KVStoreError) in }
        guard holds == position else {
            throw .snapshotInvalid("file holds \(holds.index)/\(holds.term), expected \(position.index)/\(position.term)")
        }
    }

    /// Removes every staged incoming snapshot: one that failed to install must not be
    /// resumed, so the next transfer starts from offset 0.
    func discardStaged() throws(KVStoreError) {
        removeFiles(prefix: "incoming-", except: "")
        try File.syncDirectory(directory)
    }

    /// Writes received chunks into the staging file of their snapshot and syncs it once.
    /// A chunk at offset 0 starts over (and discards other staged snapshots); a chunk that
    /// would leave a hole is refused.
    func stage(_ chunks: [SnapshotChunk]) throws(KVStoreError) {
        var touched: [String: File] = [:]
        for chunk in chunks {
            let position = LogPosition(index: chunk.metadata.index, term: chunk.metadata.term)
            let path = stagingPath(position)
            if chunk.offset == 0 { removeFiles(prefix: "incoming-", except: path) }
            let file: File
            if let open = touched[path] {
                file = open
            } else {
                file = try File(path: path, flags: O_RDWR | O_CREAT)
                touched[path] = file
            }
            let size = try file.size()
            guard chunk.offset <= size else {
                throw .snapshotInvalid("chunk at \(chunk.offset) but only \(size) bytes staged")
            }
            try file.truncate(to: chunk.offset)
            try file.write(chunk.data, at: chunk.offset)
        }
        for file in touched.values { try file.sync() }
        if !touched.isEmpty { try File.syncDirectory(directory) }
    }

    /// How many bytes of the snapshot at `position` are staged (0 when none).
    func stagedSize(_ position: LogPosition) -> UInt64 {
        (try? File(path: stagingPath(position), flags: O_RDONLY).size()) ?? 0
    }

    /// Atomically gives `from` the name of the current snapshot at `position`.
    func publish(_ from: String, as position: LogPosition) throws(KVStoreError) {
        try File.rename(from, to: currentPath(position))
        try File.syncDirectory(directory)
    }

    /// Removes every file but the current snapshot's (and staged chunks, which may resume).
    /// If a crash came between restoring a received snapshot and renaming its staged file,
    /// the rename is finished here.
    func recover(current: SnapshotMetadata) throws(KVStoreError) {
        let position = LogPosition(index: current.index, term: current.term)
        let keep = current.isEmpty ? "" : currentPath(position)
        if !current.isEmpty && !File.exists(keep) && File.exists(stagingPath(position)) {
            try publish(stagingPath(position), as: position)
        }
        removeFiles(prefix: "snapshot-", except: keep)
        removeFiles(prefix: "taking-", except: "")
        removeFiles(prefix: Self.backupPrefix, except: "")
    }

    func removeFiles(prefix: String, except keep: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let full = directory + "/" + name
            if full != keep { File.remove(full) }
        }
    }

    private func path(_ kind: String, _ p: LogPosition, _ ext: String) -> String {
        "\(directory)/\(kind)-\(p.index)-\(p.term).\(ext)"
    }
}
