/// The keys written by the LMDB write transaction that is still open, with what they now
/// hold (nil: deleted), so that local reads see an applied write before its commit.
///
/// Why: applied batches wait in one open transaction for up to `ApplyQueue.commitDelay`
/// before a single commit and flush, and a write is answered when it is applied. Without
/// this a client could write, be answered, and then read the old value from the same node.
/// Everything here is committed in Raft (applied entries are), so showing it early reveals
/// nothing that could still be lost. The set empties when the transaction ends: on a commit
/// LMDB then holds the same values; on an abort the entries are applied again later.
/// Keys are told apart by their bytes (`ByteKey`), as LMDB tells them apart.
final class UncommittedWrites: Sendable {
    private let writes = Locked<[ByteKey: KVRecord?]>([:])

    func record(_ key: String, _ record: KVRecord?) {
        writes.withLock { $0[ByteKey(key)] = .some(record) }
    }

    /// `.some(nil)` when the open transaction deleted `key`, nil when it did not touch it.
    func lookup(_ key: String) -> KVRecord?? {
        writes.withLock { $0.isEmpty ? nil : $0[ByteKey(key)] }
    }

    /// The touched keys that start with `prefix` (deletions included), in byte order.
    func matching(prefix: String) -> [(key: [UInt8], record: KVRecord?)] {
        let touched: [(key: [UInt8], record: KVRecord?)] = writes.withLock { writes in
            var touched: [(key: [UInt8], record: KVRecord?)] = []
            for (key, record) in writes where key.string.utf8.starts(with: prefix.utf8) {
                touched.append((Array(key.string.utf8), record))
            }
            return touched
        }
        return touched.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// Called after every write transaction ends, committed or not.
    func clear() {
        writes.withLock { if !$0.isEmpty { $0.removeAll(keepingCapacity: true) } }
    }
}
