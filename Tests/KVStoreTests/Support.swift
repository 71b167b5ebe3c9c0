import Foundation
import KVStore
import RaftCore

/// A fresh directory under /tmp for one test; `remove()` deletes it (call it in a defer).
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "kvstore-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with a store in a temporary directory, closing it and deleting the directory
/// afterwards, whether the body throws or not.
func withStore<T>(
    options: StoreOptions = StoreOptions(),
    _ body: (DurableStore, TemporaryDirectory) async throws -> T
) async throws -> T {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let store = try DurableStore(directory: dir.path, options: options)
    defer { store.close() }
    return try await body(store, dir)
}

func entry(_ index: UInt64, term: UInt64, _ command: KVCommand) -> Entry {
    Entry(term: term, index: index, data: command.encoded())
}

func configEntry(_ index: UInt64, term: UInt64, _ change: ConfChange) -> Entry {
    Entry(term: term, index: index, kind: .configChange, data: change.encoded())
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
