/// One page of a key listing.
public struct KVPage: Sendable, Equatable {
    /// In byte order of their keys.
    public var records: [KVRecord]
    /// True when more keys match after the last record.
    public var hasMore: Bool
}

extension KVStateMachine {
    /// Keys in byte order that start with `prefix` and come after `startAfter`, at most
    /// `limit`; includes what the open write transaction applied.
    public func list(prefix: String = "", startAfter: String? = nil, limit: Int = Int.max) throws(KVStoreError) -> [KVRecord] {
        try page(prefix: prefix, startAfter: startAfter, limit: limit).records
    }

    /// Like `list`, and the page also ends once its keys and values add up to `maxBytes`
    /// (but always holds at least one record, so paging always moves on). Keys are
    /// compared as bytes throughout, as LMDB orders them.
    ///
    /// Why a byte budget: a page of 10,000 values of up to 1 MiB each would otherwise be
    /// read into memory whole before a byte of it is sent.
    public func page(prefix: String = "", startAfter: String? = nil, limit: Int,
                     maxBytes: Int = Int.max) throws(KVStoreError) -> KVPage {
        let limit = max(1, limit)
        let prefixBytes = Array(prefix.utf8)
        let afterBytes = startAfter.map { Array($0.utf8) }
        // What the open write transaction applied, merged in key order with LMDB's records.
        let pending = uncommitted.matching(prefix: prefix)
            .filter { entry in afterBytes.map { $0.lexicographicallyPrecedes(entry.key) } ?? true }
        let db = kv
        return try environment.read { txn throws(KVStoreError) -> KVPage in
            try txn.withCursor(db) { c throws(KVStoreError) -> KVPage in
                let from = afterBytes.map { $0.lexicographicallyPrecedes(prefixBytes) ? prefixBytes : $0 } ?? prefixBytes
                var stored = from.isEmpty ? try c.first() : try c.seek(atLeast: from)
                if let key = stored?.0, key == afterBytes { stored = try c.next() }
                var nextPending = 0
                var records: [KVRecord] = []
                var bytes = 0
                while true {
                    // The next record in key order, stored or pending; pending wins a tie.
                    let storedKey = stored.flatMap { $0.0.starts(with: prefixBytes) ? $0.0 : nil }
                    let record: KVRecord
                    if nextPending < pending.count,
                       storedKey.map({ !$0.lexicographicallyPrecedes(pending[nextPending].key) }) ?? true {
                        let entry = pending[nextPending]
                        nextPending += 1
                        if let key = storedKey, key == entry.key { stored = try c.next() }
                        // A pending deletion hides the stored record.
                        guard let written = entry.record else { continue }
                        record = written
                    } else if let key = storedKey, let (_, value) = stored {
                        if records.count == limit || bytes >= maxBytes { return KVPage(records: records, hasMore: true) }
                        record = try KVRecord(key: key, stored: value)
                        stored = try c.next()
                    } else {
                        return KVPage(records: records, hasMore: false)
                    }
                    if records.count == limit || bytes >= maxBytes { return KVPage(records: records, hasMore: true) }
                    records.append(record)
                    let size = record.key.utf8.count + record.value.count
                    bytes = size > Int.max - bytes ? Int.max : bytes + size
                }
            }
        }
    }
}
