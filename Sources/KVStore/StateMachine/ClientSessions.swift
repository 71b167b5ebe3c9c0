/// The remembered outcome of a client's latest request.
public struct SessionRecord: Sendable, Equatable {
    public var sequence: UInt64
    /// Index of the entry that last touched the session; eviction removes the smallest.
    public var lastIndex: UInt64
    public var result: KVResult

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u64(sequence)
        w.u64(lastIndex)
        w.u64(result.revision)
        w.u8(result.deleted ? 1 : 0)
        return w.bytes
    }

    init(sequence: UInt64, lastIndex: UInt64, result: KVResult) {
        self.sequence = sequence
        self.lastIndex = lastIndex
        self.result = result
    }

    init(decoding bytes: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(bytes, what: "session")
        guard try r.u8() == 1 else { throw .corrupt("session: unknown version") }
        sequence = try r.u64()
        lastIndex = try r.u64()
        result = KVResult(revision: try r.u64(), deleted: try r.u8() != 0)
        try r.finish()
    }
}

/// Client sessions kept inside the state machine's transaction, so "applied" and "remembered"
/// can never disagree after a crash. Retention is bounded: past `limit` sessions, the one
/// idle the longest (in log indexes, which every replica agrees on) is forgotten.
struct ClientSessions {
    let sessions: Database
    let age: Database
    let limit: Int

    func lookup(_ clientID: UInt64, _ txn: Transaction) throws(KVStoreError) -> SessionRecord? {
        try txn.get(sessions, clientID.orderedKey).map(SessionRecord.init(decoding:))
    }

    func record(_ clientID: UInt64, _ record: SessionRecord, _ txn: Transaction) throws(KVStoreError) {
        if let old = try lookup(clientID, txn) {
            try txn.delete(age, Self.ageKey(old.lastIndex, clientID))
        }
        try txn.put(sessions, clientID.orderedKey, record.encoded())
        try txn.put(age, Self.ageKey(record.lastIndex, clientID), [])
        var excess = try txn.count(sessions) - limit
        while excess > 0 {
            guard let oldest = try txn.withCursor(age, { c throws(KVStoreError) in try c.first() }) else { break }
            try txn.delete(age, oldest.key)
            try txn.delete(sessions, Array(oldest.key[8...]))
            excess -= 1
        }
    }

    func clear(_ txn: Transaction) throws(KVStoreError) {
        try txn.clear(sessions)
        try txn.clear(age)
    }

    static func ageKey(_ index: UInt64, _ clientID: UInt64) -> [UInt8] { index.orderedKey + clientID.orderedKey }
}
