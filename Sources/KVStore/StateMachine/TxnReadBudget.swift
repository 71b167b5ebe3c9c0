/// A transaction's `get`s return whole records, so a small request could ask for far more
/// than it sends: 128 `get`s of a 1 MiB value are 128 MiB held in memory, kept in the client
/// session of a request with an `Idempotency-Key`, and (through a follower) sent back in a
/// peer frame that cannot hold them, so the client would never hear that its transaction
/// applied. The branch's reads are therefore bounded, and measured before anything is written,
/// from the replicated state alone, so every replica refuses alike (Docs/API.md, "Transactions").
extension TxnRequest {
    /// Key and value bytes the `get`s of the branch that runs may return together.
    public static let maxReadBytes = 4 << 20
}

extension KeyspaceWriter {
    /// The key and value bytes the `get`s of `branch` would return, each key as the branch
    /// would see it when its `get` runs: after the branch's own earlier puts and deletes.
    func readBytes(of branch: [TxnOperation]) throws(KVStoreError) -> Int {
        // Value sizes the branch itself leaves its keys with (0: deleted).
        var written: [ByteKey: Int] = [:]
        var deletedPrefixes: [String] = []
        var total = 0
        for operation in branch {
            switch operation {
            case .put(let key, let value, _):
                written[ByteKey(key)] = value.count
            case .delete(let key):
                written[ByteKey(key)] = 0
            case .deletePrefix(let prefix):
                for key in written.keys where key.string.utf8.starts(with: prefix.utf8) { written[key] = 0 }
                deletedPrefixes.append(prefix)
            case .get(let key):
                let size: Int
                if let known = written[ByteKey(key)] {
                    size = known
                } else if deletedPrefixes.contains(where: { key.utf8.starts(with: $0.utf8) }) {
                    size = 0
                } else {
                    size = try current(key)?.value.count ?? 0
                }
                total += key.utf8.count + size
            }
        }
        return total
    }
}
