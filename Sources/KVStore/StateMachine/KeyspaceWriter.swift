/// Changes keys inside one entry's apply, all at that entry's revision: each change writes
/// the key, a history event, the lease's key list, and what local reads see before the
/// transaction commits. Every way a key changes (a put, a delete, a transaction, a prefix
/// delete, a lease running out) goes through here, so history and leases cannot miss one.
struct KeyspaceWriter {
    let kv: Database
    let history: Database
    let leases: LeaseTable
    let uncommitted: UncommittedWrites
    let txn: Transaction
    let revision: UInt64
    /// Position of the next event within this revision.
    private var offset: UInt32 = 0

    init(kv: Database, history: Database, leases: LeaseTable, uncommitted: UncommittedWrites,
         txn: Transaction, revision: UInt64) {
        self.kv = kv
        self.history = history
        self.leases = leases
        self.uncommitted = uncommitted
        self.txn = txn
        self.revision = revision
    }

    /// The key as this transaction sees it (including its own earlier changes).
    func current(_ key: String) throws(KVStoreError) -> KVRecord? {
        let bytes = Array(key.utf8)
        return try txn.get(kv, bytes).map { stored throws(KVStoreError) in try KVRecord(key: bytes, stored: stored) }
    }

    /// Writes `value` with `lease` (0: none; the caller checked that the lease exists).
    @discardableResult
    mutating func put(_ key: String, _ value: [UInt8], lease: UInt64 = 0) throws(KVStoreError) -> KVRecord {
        let previous = try current(key)
        let record = KVRecord(key: key, value: value, revision: revision,
                              createRevision: previous?.createRevision ?? revision,
                              version: (previous?.version ?? 0) &+ 1, lease: lease)
        if let old = previous?.lease, old != 0, old != lease { try detach(key, from: old) }
        if lease != 0, previous?.lease != lease {
            try leases.attach(key, to: lease, txn)
            uncommitted.record(lease: lease, key: key, attached: true)
        }
        try txn.put(kv, Array(key.utf8), record.encodedValue())
        try append(KVEvent(kind: .put, record: record, previous: previous), key: key, record: record)
        return record
    }

    /// Returns whether the key existed.
    @discardableResult
    mutating func delete(_ key: String, expired: Bool = false) throws(KVStoreError) -> Bool {
        guard let previous = try current(key) else { return false }
        if previous.lease != 0 { try detach(key, from: previous.lease) }
        try txn.delete(kv, Array(key.utf8))
        try append(.deletion(of: previous, at: revision, expired: expired), key: key, record: nil)
        return true
    }

    /// Deletes every key that starts with `prefix`; returns how many there were.
    mutating func delete(prefix: String) throws(KVStoreError) -> Int {
        let prefixBytes = Array(prefix.utf8)
        let keys = try txn.withCursor(kv) { c throws(KVStoreError) -> [String] in
            var keys: [String] = []
            var pair = try c.seek(atLeast: prefixBytes)
            while let (key, _) = pair, key.starts(with: prefixBytes) {
                keys.append(String(decoding: key, as: UTF8.self))
                pair = try c.next()
            }
            return keys
        }
        for key in keys { try delete(key) }
        return keys.count
    }

    /// Deletes the lease and every key attached to it; returns how many keys there were.
    mutating func revoke(_ id: UInt64, expired: Bool) throws(KVStoreError) -> Int {
        let keys = try leases.attachedKeys(id, txn)
        for key in keys { try delete(String(decoding: key, as: UTF8.self), expired: expired) }
        try leases.remove(id, txn)
        uncommitted.record(lease: id, nil)
        return keys.count
    }

    private func detach(_ key: String, from lease: UInt64) throws(KVStoreError) {
        try leases.detach(key, from: lease, txn)
        uncommitted.record(lease: lease, key: key, attached: false)
    }

    private mutating func append(_ event: KVEvent, key: String, record: KVRecord?) throws(KVStoreError) {
        try txn.put(history, EventPosition(revision: revision, offset: offset).key, event.encoded())
        offset &+= 1
        uncommitted.record(key, record, event: event)
    }
}
