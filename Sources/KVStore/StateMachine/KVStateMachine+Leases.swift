/// Reading leases; what the open write transaction changed is merged in from
/// `UncommittedWrites`, so a lease is readable as soon as its grant is answered.
extension KVStateMachine {
    public func lease(_ id: UInt64) throws(KVStoreError) -> LeaseRecord? {
        if let pending = uncommitted.lease(id) { return pending }
        let table = leaseTable
        return try environment.read { txn throws(KVStoreError) in try table.lookup(id, txn) }
    }

    /// Every lease, by id.
    public func leases() throws(KVStoreError) -> [LeaseRecord] {
        let pending = uncommitted.leases
        let table = leaseTable
        var byID: [UInt64: LeaseRecord] = [:]
        for lease in try environment.read({ txn throws(KVStoreError) in try table.all(txn) }) { byID[lease.id] = lease }
        for (id, lease) in pending { byID[id] = lease }
        return byID.values.sorted { $0.id < $1.id }
    }

    /// The keys attached to lease `id`, in byte order.
    public func leaseKeys(_ id: UInt64) throws(KVStoreError) -> [String] {
        let pending = uncommitted.leaseKeys(id)
        let table = leaseTable
        var keys = Set(try environment.read { txn throws(KVStoreError) in try table.attachedKeys(id, txn) }
            .map { ByteKey(String(decoding: $0, as: UTF8.self)) })
        for (key, attached) in pending {
            if attached { keys.insert(key) } else { keys.remove(key) }
        }
        return keys.map(\.string).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
