/// The keys competing under a lock or election prefix, oldest first: the shared ground of
/// ``KVClient/withLock(_:ttlSeconds:_:)`` and the election calls, as in etcd's concurrency
/// package. The key with the lowest create revision holds the lock, or leads.
struct Contenders: Sendable {
    /// Every live contender, by create revision.
    var keys: [KeyValue]
    /// A revision at or before which the listing was taken: a watch from here misses no change
    /// that happened after the listing.
    var listedAt: UInt64

    /// Reads every key under `prefix` with its create revision. `GET /kv` carries no revisions,
    /// so the keys are listed, then read back by transactions of `get`s (up to 128 each, the
    /// node's limit); a key deleted in between is simply no longer a contender.
    static func read(_ client: KVClient, prefix: String) async throws -> Contenders {
        var names: [String] = []
        var listedAt: UInt64?
        try await client.forEachPage(prefix: prefix, pageSize: 1_000) { page in
            // The first page's revision: a watch from there sees every change after the listing
            // began. Without it, a watch would start from the beginning of history, or miss changes.
            if listedAt == nil {
                guard let revision = page.revision else {
                    throw KVClientError.invalidResponse("a listing of \(prefix.prefix(100)) without X-KV-Revision")
                }
                listedAt = revision
            }
            names += page.pairs.map(\.key)
            return true
        }
        guard let listedAt else { throw KVClientError.invalidResponse("a listing of \(prefix.prefix(100)) without a page") }
        var keys: [KeyValue] = []
        var batchStart = 0
        while batchStart < names.count {
            let batch = names[batchStart..<Swift.min(batchStart + 128, names.count)]
            let result = try await client.txn(Txn(success: batch.map { TxnOp.get($0) }))
            for case .get(_, let found?) in result.results { keys.append(found) }
            batchStart += batch.count
        }
        keys.sort { $0.createRevision < $1.createRevision }
        return Contenders(keys: keys, listedAt: listedAt)
    }
}

/// A held lock, or a won election: the key that holds it and the lease it lives under.
public struct Ownership: Sendable, Equatable {
    /// `NAME/<lease id>`.
    public var key: String
    public var lease: UInt64
    /// The key's create revision: its place in the queue.
    public var createRevision: UInt64
}

extension KVClient {
    /// Creates `NAME/<lease>` under `lease` (or finds it, when a retry already made it), then
    /// waits until every key under the prefix created before it is gone. Runs under the
    /// lease's keep-alive, which cancels it once the lease is lost.
    func enqueueAndWait(name: String, value: String, lease: UInt64) async throws -> Ownership {
        let prefix = name.hasSuffix("/") ? name : name + "/"
        let key = "\(prefix)\(lease)"
        let result = try await txn(Txn(compare: [.createRevision(key, .equal, 0)],
                                       success: [.put(key, value, lease: lease)], failure: [.get(key)]))
        let createRevision: UInt64
        switch result.results.first {
        case .put(_, let revision)?: createRevision = revision
        case .get(_, let existing?)?: createRevision = existing.createRevision
        default: throw KVClientError.invalidResponse("the transaction that queues \(key) answered \(result.results)")
        }
        while true {
            let contenders = try await Contenders.read(self, prefix: prefix)
            guard let ahead = contenders.keys.last(where: { $0.createRevision < createRevision }) else {
                return Ownership(key: key, lease: lease, createRevision: createRevision)
            }
            try await waitForDeletion(of: ahead.key, after: contenders.listedAt)
        }
    }

    /// Returns once `key` is deleted after `revision` (a watch from there sees a deletion that
    /// raced the listing).
    func waitForDeletion(of key: String, after revision: UInt64) async throws {
        for try await message in watch(.key(key), startRevision: revision) {
            if case .events(_, let events) = message, events.contains(where: { $0.kind == .delete }) { return }
        }
    }
}
