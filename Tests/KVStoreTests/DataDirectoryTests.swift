import Foundation
@testable import KVStore
import Testing

/// What a data directory looks like on disk, and who may open it.
@Suite struct DataDirectoryTests {
    private static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func aNewDataDirectoryIsReadableByItsOwnerOnly() async throws {
        let root = TemporaryDirectory()
        defer { root.remove() }
        let path = root.path + "/nested/node"
        let lock = try DirectoryLock(directory: path)
        let store = try DurableStore(directory: path)
        try await store.log.persist(hardState: nil, entries: [entry(1, term: 1, .put("k", bytes("v")))])
        _ = try await store.stateMachine.apply([entry(1, term: 1, .put("k", bytes("v")))])
        try await store.createSnapshot()
        store.close()
        withExtendedLifetime(lock) {}

        for directory in [root.path + "/nested", path, path + "/lmdb", path + "/wal", path + "/snapshots"] {
            #expect(Self.mode(directory) == 0o700, "\(directory)")
        }
        var files = [path + "/LOCK"]
        for sub in ["lmdb", "wal", "snapshots"] {
            files += try FileManager.default.contentsOfDirectory(atPath: path + "/" + sub).map { path + "/" + sub + "/" + $0 }
        }
        #expect(files.count >= 5)
        for file in files { #expect(Self.mode(file) == 0o600, "\(file)") }
    }

    @Test func aLockedDirectoryRefusesASecondHolderUntilReleased() throws {
        let root = TemporaryDirectory()
        defer { root.remove() }
        var first: DirectoryLock? = try DirectoryLock(directory: root.path)
        #expect(throws: DirectoryLockError.held(directory: root.path)) { try DirectoryLock(directory: root.path) }
        #expect(String(describing: DirectoryLockError.held(directory: root.path)).contains("another kv-node"))
        withExtendedLifetime(first) {}
        first = nil
        _ = try DirectoryLock(directory: root.path)
    }

    /// `kv-node --data-dir data`: a relative path, resolved against the working directory,
    /// and a bare name whose parent is ".", once trapped while the directory was made.
    @Test func aRelativeDataDirectoryIsMadeAndLocked() async throws {
        let root = TemporaryDirectory()
        defer { root.remove() }
        let working = FileManager.default.currentDirectoryPath.split(separator: "/")
        let relative = String(repeating: "../", count: working.count) + root.path.drop { $0 == "/" } + "/node"
        let lock = try DirectoryLock(directory: relative)
        let store = try DurableStore(directory: relative)
        try await store.log.persist(hardState: nil, entries: [entry(1, term: 1, .put("k", bytes("v")))])
        store.close()
        withExtendedLifetime(lock) {}
        #expect(FileManager.default.fileExists(atPath: root.path + "/node/LOCK"))
    }

    @Test func theParentOfEveryKindOfPath() {
        #expect(File.parent(of: "d") == ".")
        #expect(File.parent(of: "d/wal") == "d")
        #expect(File.parent(of: "./d") == ".")
        #expect(File.parent(of: "../x/d") == "../x")
        #expect(File.parent(of: "/d") == "/")
        #expect(File.parent(of: "/") == "/")
        #expect(File.parent(of: "/var/lib/kv") == "/var/lib")
    }
}
