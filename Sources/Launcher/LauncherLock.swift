import Foundation

/// An exclusive `flock` on `<data-dir>/launcher.lock`, held while the launcher runs.
///
/// Two launchers on one data directory would both start, kill and reap the same nodes and
/// rewrite the same `cluster.json`. The lock is taken before the launcher reads or writes
/// anything else there, so a second one stops having touched nothing. The kernel drops the
/// lock when the process dies, so a crashed launcher never blocks the next start.
public final class LauncherLock: Sendable {
    public static let fileName = "launcher.lock"

    private let fd: Int32

    /// Creates the data directory (0700) if needed and takes the lock, or throws a
    /// `Launcher.StartupError` naming the directory when another launcher holds it.
    public init(dataDirectory: URL) throws {
        try PrivateFiles.makeDirectory(dataDirectory)
        let path = dataDirectory.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw Launcher.StartupError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK {
                throw Launcher.StartupError(description:
                    "\(dataDirectory.path) is in use: another kv-launcher holds \(path); stop it first or pass another --data-dir")
            }
            throw Launcher.StartupError(description: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
