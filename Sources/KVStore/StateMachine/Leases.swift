/// A lease as the state machine keeps it. Its clock is not here: only the leader measures
/// time, and it proposes a revocation when a lease runs out (Docs/API.md, "Leases"), so
/// applying never depends on when an entry is applied.
public struct LeaseRecord: Sendable, Equatable {
    /// The index of the entry that granted it.
    public var id: UInt64
    public var ttlSeconds: Int64

    /// Leases the state machine keeps at once; a grant beyond is refused (400). A constant,
    /// not a flag: every replica must refuse the same grant. It bounds what clients can make
    /// the leader's clock scan and `GET /lease` list.
    public static let maxLeases = 100_000

    public init(id: UInt64, ttlSeconds: Int64) {
        self.id = id
        self.ttlSeconds = ttlSeconds
    }

    /// `leases` value: `[1][ttl seconds i64]`.
    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 9)
        w.u8(1)
        w.u64(UInt64(bitPattern: ttlSeconds))
        return w.bytes
    }

    init(id: UInt64, decoding bytes: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(bytes, what: "lease")
        guard try r.u8() == 1 else { throw .corrupt("lease: unknown version") }
        self.init(id: id, ttlSeconds: Int64(bitPattern: try r.u64()))
        try r.finish()
    }
}

/// The `leases` and `lease_keys` databases inside a transaction.
struct LeaseTable {
    let leases: Database
    let keys: Database

    func lookup(_ id: UInt64, _ txn: Transaction) throws(KVStoreError) -> LeaseRecord? {
        try txn.get(leases, id.orderedKey).map { bytes throws(KVStoreError) in try LeaseRecord(id: id, decoding: bytes) }
    }

    func put(_ lease: LeaseRecord, _ txn: Transaction) throws(KVStoreError) {
        try txn.put(leases, lease.id.orderedKey, lease.encoded())
    }

    func remove(_ id: UInt64, _ txn: Transaction) throws(KVStoreError) {
        try txn.delete(leases, id.orderedKey)
        try txn.delete(keys, id.orderedKey)
    }

    func attach(_ key: String, to id: UInt64, _ txn: Transaction) throws(KVStoreError) {
        try txn.put(keys, id.orderedKey, Array(key.utf8))
    }

    func detach(_ key: String, from id: UInt64, _ txn: Transaction) throws(KVStoreError) {
        try txn.deleteDuplicate(keys, id.orderedKey, Array(key.utf8))
    }

    func attachedKeys(_ id: UInt64, _ txn: Transaction) throws(KVStoreError) -> [[UInt8]] {
        try txn.duplicates(keys, id.orderedKey)
    }

    func all(_ txn: Transaction) throws(KVStoreError) -> [LeaseRecord] {
        try txn.withCursor(leases) { c throws(KVStoreError) -> [LeaseRecord] in
            var all: [LeaseRecord] = []
            var pair = try c.first()
            while let (key, value) = pair {
                guard let id = UInt64(orderedKey: key) else { throw .corrupt("lease key") }
                all.append(try LeaseRecord(id: id, decoding: value))
                pair = try c.next()
            }
            return all
        }
    }

    func clear(_ txn: Transaction) throws(KVStoreError) {
        try txn.clear(leases)
        try txn.clear(keys)
    }
}
