/// What the LMDB write transaction that is still open has applied: the keys it wrote with
/// what they now hold (nil: deleted), their history events (as the bytes written to
/// `history`, decoded only when read: most are never read before the commit), and the leases it granted,
/// revoked or attached keys to, so that local reads see an applied write before its commit.
///
/// Why: applied batches wait in one open transaction for up to `ApplyQueue.commitDelay`
/// before a single commit and flush, and a write is answered when it is applied. Without
/// this a client could write, be answered, and then read the old value from the same node,
/// or grant a lease and be told it does not exist. Everything here is committed in Raft
/// (applied entries are), so showing it early reveals nothing that could still be lost.
/// It empties when the transaction ends: on a commit LMDB then holds the same values; on an
/// abort the entries are applied again later. Keys are told apart by their bytes
/// (`ByteKey`), as LMDB tells them apart.
///
/// A reader takes what it needs from here *before* it opens its read transaction: whatever
/// commits in between is then in LMDB, so nothing falls between the two.
final class UncommittedWrites: Sendable {
    private struct Pending {
        var keys: [ByteKey: KVRecord?] = [:]
        /// In the order they were applied.
        var events: [(revision: UInt64, encoded: [UInt8])] = []
        var leases: [UInt64: LeaseRecord?] = [:]
        /// Lease id → key → attached (true) or detached (false).
        var leaseKeys: [UInt64: [ByteKey: Bool]] = [:]
        var compactRevision: UInt64?

        var isEmpty: Bool { keys.isEmpty && events.isEmpty && leases.isEmpty && leaseKeys.isEmpty && compactRevision == nil }
    }

    private let pending = Locked(Pending())

    /// `event` is the encoded `KVEvent` of this change, at `revision`.
    func record(_ key: String, _ record: KVRecord?, event: [UInt8], at revision: UInt64) {
        pending.withLock {
            $0.keys[ByteKey(key)] = .some(record)
            $0.events.append((revision, event))
        }
    }

    func record(lease id: UInt64, _ lease: LeaseRecord?) {
        pending.withLock { $0.leases[id] = .some(lease) }
    }

    func record(lease id: UInt64, key: String, attached: Bool) {
        pending.withLock { $0.leaseKeys[id, default: [:]][ByteKey(key)] = attached }
    }

    func record(compactRevision revision: UInt64) {
        pending.withLock { $0.compactRevision = revision }
    }

    /// The revision the open transaction compacted through, if it compacted.
    var compactRevision: UInt64? { pending.withLock { $0.compactRevision } }

    /// `.some(nil)` when the open transaction deleted `key`, nil when it did not touch it.
    func lookup(_ key: String) -> KVRecord?? {
        pending.withLock { $0.keys.isEmpty ? nil : $0.keys[ByteKey(key)] }
    }

    /// The touched keys that start with `prefix` (deletions included), in byte order.
    func matching(prefix: String) -> [(key: [UInt8], record: KVRecord?)] {
        let touched: [(key: [UInt8], record: KVRecord?)] = pending.withLock { pending in
            var touched: [(key: [UInt8], record: KVRecord?)] = []
            for (key, record) in pending.keys where key.string.utf8.starts(with: prefix.utf8) {
                touched.append((Array(key.string.utf8), record))
            }
            return touched
        }
        return touched.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// The open transaction's events after `revision`, in order.
    func events(after revision: UInt64) throws(KVStoreError) -> [KVEvent] {
        let encoded = pending.withLock { pending -> ArraySlice<(revision: UInt64, encoded: [UInt8])> in
            guard let first = pending.events.firstIndex(where: { $0.revision > revision }) else { return [] }
            return pending.events[first...]
        }
        var events: [KVEvent] = []
        events.reserveCapacity(encoded.count)
        for event in encoded { events.append(try KVEvent(decoding: event.encoded)) }
        return events
    }

    /// Taken under one lock: the open transaction's first event on `key` after `revision`,
    /// and what the key holds in it (`.some(nil)`: deleted; nil: untouched).
    func history(of key: String, after revision: UInt64) throws(KVStoreError) -> (next: KVEvent?, current: KVRecord??) {
        let bytes = ByteKey(key)
        let (next, current) = pending.withLock { pending in
            let next = pending.events.first {
                $0.revision > revision && KVEvent.key(ofEncoded: $0.encoded)?.elementsEqual(key.utf8) == true
            }
            return (next?.encoded, pending.keys.isEmpty ? nil : pending.keys[bytes])
        }
        return (try next.map { encoded throws(KVStoreError) in try KVEvent(decoding: encoded) }, current)
    }

    func lease(_ id: UInt64) -> LeaseRecord?? {
        pending.withLock { $0.leases[id] }
    }

    var leases: [UInt64: LeaseRecord?] { pending.withLock { $0.leases } }

    func leaseKeys(_ id: UInt64) -> [ByteKey: Bool] {
        pending.withLock { $0.leaseKeys[id] ?? [:] }
    }

    /// Called after every write transaction ends, committed or not.
    func clear() {
        pending.withLock { pending in
            guard !pending.isEmpty else { return }
            pending.keys.removeAll(keepingCapacity: true)
            pending.events.removeAll(keepingCapacity: true)
            pending.leases.removeAll()
            pending.leaseKeys.removeAll()
            pending.compactRevision = nil
        }
    }
}
