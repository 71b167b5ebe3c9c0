/// Reading and compacting the history of changes (Docs/API.md, "Watch" and "History and
/// compaction"). History lives in the `history` database, one event per changed key, keyed
/// by revision; what the open write transaction added is merged in from `UncommittedWrites`.
extension KVStateMachine {
    /// History at and below this revision is gone (0: nothing compacted yet). Includes a
    /// compaction the open write transaction applied, as every read here does: once a
    /// compaction is answered, reads below it are refused on that node at once.
    public func compactRevision() throws(KVStoreError) -> UInt64 {
        let pending = uncommitted.compactRevision ?? 0
        return max(pending, try environment.read { txn throws(KVStoreError) in try compactRevision(txn) })
    }

    /// Records where history starts, once per data directory: the applied index when it is
    /// first opened by a build that keeps history. A directory written before history existed
    /// has changes that no history holds, so reads and watches from before that point must be
    /// refused as compacted rather than answered from a history that only looks empty.
    func markHistoryStart() throws(KVStoreError) {
        try environment.onWriteThreadAndWait { () throws(KVStoreError) in
            try self.environment.transact { txn throws(KVStoreError) in
                guard try txn.get(self.meta, Schema.MetaKey.compactRevision) == nil else { return }
                try txn.put(self.meta, Schema.MetaKey.compactRevision, try self.applied(txn).index.orderedKey)
            }
        }
    }

    func compactRevision(_ txn: Transaction) throws(KVStoreError) -> UInt64 {
        guard let bytes = try txn.get(meta, Schema.MetaKey.compactRevision) else { return 0 }
        guard bytes.count == 8, let revision = UInt64(orderedKey: bytes) else { throw .corrupt("compact revision") }
        return revision
    }

    /// Events with a revision above `revision`, in order, about `limit` of them: a page never
    /// ends inside a revision, so it may hold more when the last revision has several events.
    /// Throws `compacted` when events after `revision` are no longer all retained.
    public func events(after revision: UInt64, limit: Int) throws(KVStoreError) -> [KVEvent] {
        let pending = try uncommitted.events(after: revision)
        let pendingCompaction = uncommitted.compactRevision ?? 0
        let db = history
        let (stored, complete) = try environment.read { txn throws(KVStoreError) -> ([KVEvent], Bool) in
            let compacted = max(pendingCompaction, try compactRevision(txn))
            if revision < compacted { throw .compacted(compactRevision: compacted) }
            return try txn.withCursor(db) { c throws(KVStoreError) -> ([KVEvent], Bool) in
                var events: [KVEvent] = []
                var pair = try c.seek(atLeast: EventPosition(revision: revision &+ 1, offset: 0).key)
                while let (key, value) = pair {
                    let position = try EventPosition(key: key)
                    if events.count >= limit, let last = events.last, last.revision != position.revision {
                        return (events, false)
                    }
                    events.append(try KVEvent(decoding: value))
                    pair = try c.next()
                }
                return (events, true)
            }
        }
        guard complete else { return stored }
        // What committed after `pending` was taken is in `stored` already.
        let seen = stored.last?.revision ?? revision
        return stored + pending.filter { $0.revision > seen }
    }

    /// `key` as it was at `revision`: the state before the first change after it, or the
    /// current state if it has not changed since. Walks history from `revision` on, so it
    /// costs one step per change made since then (bounded by the retained history).
    public func get(_ key: String, atRevision revision: UInt64) throws(KVStoreError) -> KVRecord? {
        try KVCommand.validate(key: key)
        let current = self.revision
        if revision > current { throw .futureRevision(requested: revision, current: current) }
        let keyBytes = Array(key.utf8)
        // Taken before the read transaction opens, so nothing that commits meanwhile is missed.
        let pending = try uncommitted.history(of: key, after: revision)
        let pendingCompaction = uncommitted.compactRevision ?? 0
        let db = history
        let table = kv
        return try environment.read { txn throws(KVStoreError) -> KVRecord? in
            let compacted = max(pendingCompaction, try compactRevision(txn))
            if revision < compacted { throw .compacted(compactRevision: compacted) }
            let next = try txn.withCursor(db) { c throws(KVStoreError) -> KVEvent? in
                var pair = try c.seek(atLeast: EventPosition(revision: revision &+ 1, offset: 0).key)
                while let (_, value) = pair {
                    if let eventKey = KVEvent.key(ofEncoded: value), eventKey.elementsEqual(keyBytes) {
                        return try KVEvent(decoding: value)
                    }
                    pair = try c.next()
                }
                return nil
            }
            if let next { return next.previous }
            if let later = pending.next { return later.previous }
            // Unchanged since `revision`: what the open transaction wrote at or before it, if
            // anything, else its committed state.
            if let written = pending.current { return written }
            return try txn.get(table, keyBytes).map { stored throws(KVStoreError) in try KVRecord(key: keyBytes, stored: stored) }
        }
    }

    /// Removes events at and below `revision`. Refused (identically on every replica) for a
    /// revision already compacted or not yet reached.
    func compact(through revision: UInt64, at index: UInt64, _ txn: Transaction) throws(KVStoreError) {
        let compacted = try compactRevision(txn)
        if revision <= compacted { throw .compacted(compactRevision: compacted) }
        if revision >= index { throw .futureRevision(requested: revision, current: index &- 1) }
        let limit = EventPosition(revision: revision &+ 1, offset: 0).key
        try txn.withCursor(history) { c throws(KVStoreError) in try c.deleteLeading(before: limit) }
        try txn.put(meta, Schema.MetaKey.compactRevision, revision.orderedKey)
        uncommitted.record(compactRevision: revision)
    }
}
