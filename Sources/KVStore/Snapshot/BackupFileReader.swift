#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A backup file read front to back in chunks, for streaming it to a client (`GET /snapshot`).
/// One task reads it at a time.
public final class BackupFileReader: @unchecked Sendable {
    private let file: File
    public let size: UInt64
    private var offset: UInt64 = 0

    public init(path: String) throws(KVStoreError) {
        file = try File(path: path, flags: O_RDONLY)
        size = try file.size()
    }

    /// The next at most `maxBytes` bytes; empty at the end of the file.
    public func next(maxBytes: Int) throws(KVStoreError) -> [UInt8] {
        let chunk = try file.read(at: offset, count: maxBytes)
        offset += UInt64(chunk.count)
        return chunk
    }
}
