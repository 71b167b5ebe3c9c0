import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A plain file descriptor with the few calls the snapshot code needs, each failure typed.
/// Foundation's `FileHandle` hides `fdatasync`, which is the whole point here.
///
/// New files are created 0600: a data directory holds every client's values, readable by
/// this user only.
final class File {
    let path: String
    private let fd: Int32

    init(path: String, flags: Int32, mode: mode_t = 0o600) throws(KVStoreError) {
        let fd = open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw .io(operation: "open \(path)", errno: errno) }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    func size() throws(KVStoreError) -> UInt64 {
        var info = stat()
        if fstat(fd, &info) != 0 { throw .io(operation: "fstat \(path)", errno: errno) }
        return UInt64(info.st_size)
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(KVStoreError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw File.failure("write", path, errno)
            }
            done += n
        }
    }

    /// Reads up to `count` bytes; fewer only at the end of the file.
    func read(at offset: UInt64, count: Int) throws(KVStoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read \(path)", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        buffer.removeLast(count - done)
        return buffer
    }

    func truncate(to length: UInt64) throws(KVStoreError) {
        if ftruncate(fd, off_t(length)) != 0 { throw File.failure("truncate", path, errno) }
    }

    func sync() throws(KVStoreError) {
        if fdatasync(fd) != 0 { throw File.failure("fdatasync", path, errno) }
    }

    /// Makes a rename or unlink in `directory` durable.
    static func syncDirectory(_ directory: String) throws(KVStoreError) {
        let dir = try File(path: directory, flags: O_RDONLY | O_DIRECTORY)
        if fsync(dir.fd) != 0 { throw .io(operation: "fsync \(directory)", errno: errno) }
    }

    /// Creates `path` and any missing parents with mode 0700, syncing each parent after it
    /// gains a directory: without that fsync a power loss can forget the new directory (and
    /// with it everything later synced inside it). An existing directory is left as it is.
    static func makeDirectory(_ path: String) throws(KVStoreError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw .io(operation: "mkdir \(path): not a directory", errno: ENOTDIR) }
            return
        }
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let parentPath = parent(of: trimmed)
        if parentPath != trimmed { try makeDirectory(parentPath) }
        if mkdir(trimmed, 0o700) != 0 && errno != EEXIST { throw failure("mkdir", trimmed, errno) }
        try syncDirectory(parentPath)
    }

    /// The directory holding `path`: "." for a bare name such as `data` (Foundation's
    /// `deletingLastPathComponent` traps on some of these on Linux), "/" at the root.
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func rename(_ from: String, to: String) throws(KVStoreError) {
        if Glibc.rename(from, to) != 0 { throw failure("rename", from, errno) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func remove(_ path: String) { unlink(path) }

    private static func failure(_ operation: String, _ path: String, _ code: Int32) -> KVStoreError {
        code == ENOSPC || code == EDQUOT || code == EFBIG ? .storageFull : .io(operation: "\(operation) \(path)", errno: code)
    }
}
