import Foundation
import NIOCore

/// A download written to `path.part` and renamed to `path` only once whole, so `path` never
/// holds a partial snapshot or export; a download that fails removes the `.part` file.
///
/// Its errors are ``KVClientError/file(path:reason:)``: a full disk is the client machine's
/// problem, not the cluster's, and must not read as an unreachable cluster.
final class PartialFile {
    let path: String
    let partPath: String
    private let handle: FileHandle

    init(publishingAt path: String) throws(KVClientError) {
        self.path = path
        partPath = path + ".part"
        guard FileManager.default.createFile(atPath: partPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: partPath) else {
            throw .file(path: partPath, reason: "cannot be created")
        }
        self.handle = handle
    }

    func write(_ chunk: ByteBuffer) throws(KVClientError) {
        do {
            try handle.write(contentsOf: Data(chunk.readableBytesView))
        } catch {
            throw .file(path: partPath, reason: "cannot be written: \(error.localizedDescription)")
        }
    }

    /// Flushes the file to disk and renames it to `path`.
    func publish() throws(KVClientError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .file(path: partPath, reason: "cannot be saved: \(error.localizedDescription)")
        }
        guard rename(partPath, path) == 0 else {
            throw .file(path: path, reason: "cannot be renamed from \(partPath): errno \(errno)")
        }
    }

    /// Closes and removes the `.part` file.
    func discard() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: partPath)
    }

    /// Runs `transfer` with a fresh file for `path`, publishes it when `transfer` returns and
    /// discards it when anything fails.
    static func download<T>(to path: String, _ transfer: (PartialFile) async throws -> T) async throws -> T {
        let file = try PartialFile(publishingAt: path)
        do {
            let result = try await transfer(file)
            try file.publish()
            return result
        } catch {
            file.discard()
            throw error
        }
    }
}
