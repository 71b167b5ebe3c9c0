// Appends batches to a DurableStore forever and acknowledges each one on stdout only after
// it is durable. The crash test SIGKILLs it at random moments and checks that every
// acknowledged batch survived and no batch is torn.
//
// Three batches in four take the node's path: `writeAhead` (the write-ahead log's flush),
// the acknowledgement, then `enqueueApply`, which leaves the batch for a later LMDB commit
// (batches with nothing to apply wait, up to 32, and then share one commit that a crash
// may undo); the fourth is a fully durable LMDB commit (`DurableStore.persist`, which first
// commits what is queued). Small write-ahead log segments make kills land around segment
// switches and deletions too.
//
// Batch n holds 1 + n % 7 entries of term n; each entry's data is
// `[batch u64 LE][position u8][count u8]` padded to 100 bytes, and the hard state written
// with it is `term: n, commit: last index of the batch`.
// Output, one line per batch: `<batch> <last index>`.
import Foundation
import KVStore
import RaftCore

@main
struct CrashChild {
    static func main() async {
        guard CommandLine.arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: KVStoreCrashChild DATA_DIR\n".utf8))
            exit(2)
        }
        do {
            let options = StoreOptions(lmdb: LMDBOptions(initialMapSize: 1 << 20), walSegmentBytes: 16 << 10)
            let store = try DurableStore(directory: CommandLine.arguments[1], options: options)
            let parent = getppid()
            var batch = store.log.initialState().hardState.term + 1
            var next = store.log.lastIndex() + 1
            // A bound on the work in case the test is gone without killing us.
            while getppid() == parent && batch < 1_000_000 {
                let count = Int(1 + batch % 7)
                let entries = (0..<count).map { position in
                    var data = [UInt8](repeating: 0xAB, count: 100)
                    for byte in 0..<8 { data[byte] = UInt8(truncatingIfNeeded: batch >> (8 * UInt64(byte))) }
                    data[8] = UInt8(position)
                    data[9] = UInt8(count)
                    return Entry(term: batch, index: next + UInt64(position), data: data)
                }
                let last = next + UInt64(count) - 1
                let hardState = HardState(term: batch, vote: "child", commit: last)
                let line = "\(batch) \(last)\n"
                if batch % 4 == 0 {
                    try await store.persist(hardState: hardState, entries: entries)
                    _ = line.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
                } else {
                    var ready = Ready()
                    ready.hardState = hardState
                    ready.entries = entries
                    ready.mustSync = true
                    let sequence = try await store.writeAhead(ready)
                    _ = line.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
                    store.enqueueApply(ready, walSequence: sequence, applied: { _ in }) { result in
                        if case .failure(let error) = result {
                            FileHandle.standardError.write(Data("queued apply failed: \(error)\n".utf8))
                            exit(1)
                        }
                    }
                }
                batch += 1
                next = last + 1
            }
        } catch {
            FileHandle.standardError.write(Data("crash child failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
