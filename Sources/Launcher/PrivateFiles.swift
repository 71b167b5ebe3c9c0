import Foundation

/// Creates the launcher's directories and files readable by this user only (0700 / 0600),
/// each made durable in its parent: the data directory holds every node's data and logs.
enum PrivateFiles {
    /// Creates `url` and missing parents with mode 0700, syncing each parent that gained one.
    static func makeDirectory(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Launcher.StartupError(description: "\(path) is not a directory") }
            return
        }
        let parent = url.standardizedFileURL.deletingLastPathComponent()
        if parent.path != path { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw Launcher.StartupError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        try syncDirectory(parent)
    }

    /// Writes `data` to `url` through a 0600 temporary file that is synced, renamed into
    /// place, and made durable by syncing the directory: a crash leaves the old file or the
    /// new one, never half of one, and a power loss cannot undo the rename.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw failure("open", temporary) }
        var written = 0
        let ok = data.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = failure("write", temporary)
        close(fd)
        guard ok else {
            unlink(temporary)
            throw error
        }
        if rename(temporary, url.path) != 0 {
            let error = failure("rename", temporary)
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    static func syncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw failure("open", url.path) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw failure("fsync", url.path) }
    }

    private static func failure(_ operation: String, _ path: String) -> Launcher.StartupError {
        Launcher.StartupError(description: "\(operation) \(path): \(String(cString: strerror(errno)))")
    }
}

extension PrivateFiles {
    /// Sets `url`'s mode: a directory made before the launcher cared (or by hand) is brought
    /// down to what it must be.
    static func restrict(_ url: URL, mode: mode_t) throws {
        if chmod(url.path, mode) != 0 {
            throw Launcher.StartupError(description: "chmod \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}
