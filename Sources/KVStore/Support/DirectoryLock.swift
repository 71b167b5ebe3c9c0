import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// An exclusive `flock` on `<directory>/LOCK`, held for as long as this value lives.
///
/// Two kv-node processes on one data directory would each believe they own the write-ahead
/// log and LMDB, and interleave or delete each other's records. The lock is taken before
/// anything else in the directory is opened, so a second process stops without changing a
/// byte there. `flock` locks belong to the open file and the kernel drops them when the
/// process dies, so a crash never leaves a stale lock behind (the LOCK file itself stays and
/// is reused).
public final class DirectoryLock: Sendable {
    public static let fileName = "LOCK"

    public let directory: String
    private let fd: Int32

    /// Creates `directory` (0700) if needed and locks it, or throws `.held` at once when
    /// another process (or another lock in this process) holds it.
    public init(directory: String) throws(DirectoryLockError) {
        do {
            try File.makeDirectory(directory)
        } catch {
            throw .unusable(directory: directory, reason: "\(error)")
        }
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw .unusable(directory: directory, reason: "open \(path): \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { throw .held(directory: directory) }
            throw .unusable(directory: directory, reason: "flock \(path): \(String(cString: strerror(code)))")
        }
        self.directory = directory
        self.fd = fd
    }

    deinit { close(fd) }
}

public enum DirectoryLockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process holds the directory.
    case held(directory: String)
    /// The directory or its lock file cannot be created or opened.
    case unusable(directory: String, reason: String)

    public var description: String {
        switch self {
        case .held(let directory):
            "data directory \(directory) is in use: another kv-node holds its lock (\(directory)/\(DirectoryLock.fileName)); stop it first or pick another --data-dir"
        case .unusable(let directory, let reason):
            "cannot lock data directory \(directory): \(reason)"
        }
    }
}
