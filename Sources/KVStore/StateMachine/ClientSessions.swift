/// What a client session remembers: its latest request, and that request's answer while
/// the session is among the most recently used; once evicted, only that the request
/// existed (so a late retry is refused instead of applied a second time).
///
/// Stored as `[2][flags u8][sequence u64][last index u64]`, then `[revision u64][deleted u8]`
/// when flags bit 0 (has a result), `[fingerprint u64]` when bit 1, and the result's detail
/// (`CommandCoding`, u32-prefixed) when bit 2. Version 1 records
/// (`[1][sequence][last index][revision][deleted]`, written before fingerprints existed)
/// are still read: they have a result and no fingerprint.
public struct SessionRecord: Sendable, Equatable {
    public var sequence: UInt64
    /// Index of the entry that last touched the session; eviction removes the smallest.
    public var lastIndex: UInt64
    /// The answer of request `sequence`; nil once the session was evicted.
    public var result: KVResult?
    /// What request `sequence` asked for; nil when evicted or written by version 1.
    public var fingerprint: RequestFingerprint?

    /// Only the request's existence is remembered, not its answer.
    public var isEvicted: Bool { result == nil }

    public init(sequence: UInt64, lastIndex: UInt64, result: KVResult?, fingerprint: RequestFingerprint? = nil) {
        self.sequence = sequence
        self.lastIndex = lastIndex
        self.result = result
        self.fingerprint = fingerprint
    }

    /// The same session with its answer forgotten.
    var evicted: SessionRecord { SessionRecord(sequence: sequence, lastIndex: lastIndex, result: nil) }

    private static let hasResult: UInt8 = 1
    private static let hasFingerprint: UInt8 = 2
    private static let hasDetail: UInt8 = 4

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 35)
        w.u8(2)
        let detail = result?.detail.map(CommandCoding.encode)
        w.u8((result == nil ? 0 : Self.hasResult) | (fingerprint == nil ? 0 : Self.hasFingerprint)
            | (detail == nil ? 0 : Self.hasDetail))
        w.u64(sequence)
        w.u64(lastIndex)
        if let result {
            w.u64(result.revision)
            w.u8(result.deleted ? 1 : 0)
        }
        if let fingerprint { w.u64(fingerprint.value) }
        if let detail { w.blob(detail) }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(bytes, what: "session")
        switch try r.u8() {
        case 1:
            sequence = try r.u64()
            lastIndex = try r.u64()
            result = KVResult(revision: try r.u64(), deleted: try r.u8() != 0)
            fingerprint = nil
        case 2:
            let flags = try r.u8()
            guard flags & ~(Self.hasResult | Self.hasFingerprint | Self.hasDetail) == 0 else {
                throw .corrupt("session: unknown flags")
            }
            sequence = try r.u64()
            lastIndex = try r.u64()
            result = flags & Self.hasResult == 0 ? nil : KVResult(revision: try r.u64(), deleted: try r.u8() != 0)
            fingerprint = flags & Self.hasFingerprint == 0 ? nil : RequestFingerprint(value: try r.u64())
            if flags & Self.hasDetail != 0 {
                guard result != nil else { throw .corrupt("session: a detail without a result") }
                result?.detail = try CommandCoding.decodeDetail(try r.blob())
            }
        default:
            throw .corrupt("session: unknown version")
        }
        try r.finish()
    }
}

/// How many client sessions the state machine keeps. Every replica must use the same
/// values: eviction happens at apply time, and a replica that forgot a session another
/// still holds would apply a retry the other refuses.
public struct SessionLimits: Sendable, Equatable {
    /// Sessions whose latest answer is kept (a retry gets that answer). At least 1.
    public var results: Int
    /// Evicted sessions still recognised (a retry gets a conflict, never a second apply).
    /// Zero forgets evicted sessions at once.
    public var evicted: Int

    public init(results: Int = 100_000, evicted: Int = 1_000_000) {
        self.results = max(results, 1)
        self.evicted = max(evicted, 0)
    }
}

/// Client sessions kept inside the state machine's transaction, so "applied" and "remembered"
/// can never disagree after a crash. Retention is bounded in two tiers, both ordered by the
/// log index that last touched a session (which every replica agrees on; no clock is used):
/// past `limits.results` sessions, the one idle longest loses its answer and becomes evicted;
/// past `limits.evicted` evicted ones, the oldest is forgotten. An evicted session is never
/// touched again, so every evicted session is older than every live one, and the sessions
/// remembered at all are always the `results + evicted` most recently used.
struct ClientSessions {
    /// Client id → `SessionRecord`, live or evicted.
    let sessions: Database
    /// (last index, client id) of live sessions, oldest first.
    let age: Database
    /// (last index, client id) of evicted sessions, oldest first.
    let evictedAge: Database
    let limits: SessionLimits

    func lookup(_ clientID: UInt64, _ txn: Transaction) throws(KVStoreError) -> SessionRecord? {
        try txn.get(sessions, clientID.orderedKey).map(SessionRecord.init(decoding:))
    }

    /// Stores a live record for `clientID`, then evicts and forgets down to the limits.
    func record(_ clientID: UInt64, _ record: SessionRecord, _ txn: Transaction) throws(KVStoreError) {
        if let old = try lookup(clientID, txn) {
            _ = try txn.delete(old.isEvicted ? evictedAge : age, Self.ageKey(old.lastIndex, clientID))
        }
        try put(clientID, record, txn)
        var excess = try txn.count(age) - limits.results
        while excess > 0, let (index, oldest) = try first(age, txn) {
            _ = try txn.delete(age, Self.ageKey(index, oldest))
            guard let live = try lookup(oldest, txn) else { throw .corrupt("session age without a session") }
            try put(oldest, live.evicted, txn)
            excess -= 1
        }
        excess = try txn.count(evictedAge) - limits.evicted
        while excess > 0, let (index, oldest) = try first(evictedAge, txn) {
            _ = try txn.delete(evictedAge, Self.ageKey(index, oldest))
            _ = try txn.delete(sessions, oldest.orderedKey)
            excess -= 1
        }
    }

    /// Writes `record` and its age entry in the tier it belongs to (also used by restore).
    func put(_ clientID: UInt64, _ record: SessionRecord, _ txn: Transaction) throws(KVStoreError) {
        try txn.put(sessions, clientID.orderedKey, record.encoded())
        try txn.put(record.isEvicted ? evictedAge : age, Self.ageKey(record.lastIndex, clientID), [])
    }

    func clear(_ txn: Transaction) throws(KVStoreError) {
        try txn.clear(sessions)
        try txn.clear(age)
        try txn.clear(evictedAge)
    }

    private func first(_ db: Database, _ txn: Transaction) throws(KVStoreError) -> (UInt64, UInt64)? {
        guard let pair = try txn.withCursor(db, { c throws(KVStoreError) in try c.first() }) else { return nil }
        guard pair.key.count == 16, let index = UInt64(orderedKey: Array(pair.key[0..<8])),
              let clientID = UInt64(orderedKey: Array(pair.key[8..<16])) else { throw .corrupt("session age key") }
        return (index, clientID)
    }

    static func ageKey(_ index: UInt64, _ clientID: UInt64) -> [UInt8] { index.orderedKey + clientID.orderedKey }
}
