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

    /// The key's stored bytes (in the current layout: an older one is re-encoded, so every
    /// replica writes the same event bytes whatever layout its copy of the key was in) and
    /// the record's numbers. The value is not copied out: a write needs only the numbers.
    private func stored(_ key: [UInt8]) throws(KVStoreError) -> (bytes: [UInt8], header: KVRecord.Header)? {
        guard let bytes = try txn.get(kv, key) else { return nil }
        let header = try KVRecord.Header(stored: bytes)
        if bytes.first == KVRecord.layoutVersion { return (bytes, header) }
        return (try KVRecord(key: key, stored: bytes).encodedValue(), header)
    }

    /// Writes `value` with `lease` (0: none; the caller checked that the lease exists).
    @discardableResult
    mutating func put(_ key: String, _ value: [UInt8], lease: UInt64 = 0) throws(KVStoreError) -> KVRecord {
        let keyBytes = Array(key.utf8)
        let previous = try stored(keyBytes)
        let record = KVRecord(key: key, value: value, revision: revision,
                              createRevision: previous?.header.createRevision ?? revision,
                              version: (previous?.header.version ?? 0) &+ 1, lease: lease)
        let previousLease = previous?.header.lease ?? 0
        if previousLease != 0, previousLease != lease { try detach(key, from: previousLease) }
        if lease != 0, previousLease != lease {
            try leases.attach(key, to: lease, txn)
            uncommitted.record(lease: lease, key: key, attached: true)
        }
        let encoded = record.encodedValue()
        try txn.put(kv, keyBytes, encoded)
        try append(KVEvent.encoded(kind: .put, key: key, record: encoded, previous: previous?.bytes), key: key, record: record)
        return record
    }

    /// Returns whether the key existed.
    @discardableResult
    mutating func delete(_ key: String, expired: Bool = false) throws(KVStoreError) -> Bool {
        let keyBytes = Array(key.utf8)
        guard let previous = try stored(keyBytes) else { return false }
        if previous.header.lease != 0 { try detach(key, from: previous.header.lease) }
        try txn.delete(kv, keyBytes)
        let deletion = KVEvent.deletionRecord(key: key, at: revision)
        try append(KVEvent.encoded(kind: .delete, key: key, record: deletion.encodedValue(), previous: previous.bytes,
                                   expired: expired), key: key, record: nil)
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

    /// Events are keyed in the order they happen (revisions rise with the log index, offsets
    /// within one), so each goes at the end of `history`: `append` lets LMDB skip the search
    /// and fill pages whole instead of splitting them in half.
    private mutating func append(_ event: [UInt8], key: String, record: KVRecord?) throws(KVStoreError) {
        try txn.put(history, EventPosition(revision: revision, offset: offset).key, event, append: true)
        offset &+= 1
        uncommitted.record(key, record, event: event, at: revision)
    }
}
