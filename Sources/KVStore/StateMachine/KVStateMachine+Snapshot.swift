import RaftCore

/// Moving the whole state machine into and out of the snapshot format.
extension KVStateMachine {
    /// Streams the state as of `txn` (a read transaction: writes continue meanwhile) into
    /// `writer`.
    func write(_ txn: Transaction, to writer: inout SnapshotWriter) throws(KVStoreError) {
        try each(kv, txn) { key, value throws(KVStoreError) in
            let (revision, bytes) = try KVRecord.decodeValue(value)
            try writer.write(.pair(key: key, revision: revision, value: bytes))
        }
        try each(sessionTable.sessions, txn) { key, value throws(KVStoreError) in
            guard let clientID = UInt64(orderedKey: key) else { throw .corrupt("session key") }
            try writer.write(.session(clientID: clientID, record: try SessionRecord(decoding: value)))
        }
        for member in try memberTable.all(txn) { try writer.write(.member(member)) }
    }

    /// Replaces the whole state with the snapshot in `file`, inside `txn`. A damaged file
    /// throws before the caller commits, so the old state stays untouched.
    func restore(from file: File, _ txn: Transaction) throws(KVStoreError) -> LogPosition {
        try txn.clear(kv)
        try sessionTable.clear(txn)
        try txn.clear(memberTable.db)
        var reader = SnapshotReader(file: file)
        let applied = try reader.readAll { record throws(KVStoreError) in
            switch record {
            case .pair(let key, let revision, let value):
                try txn.put(kv, key, KVRecord.encodeValue(value, revision: revision))
            case .session(let clientID, let session):
                try sessionTable.put(clientID, session, txn)
            case .member(let member):
                try memberTable.put(member, txn)
            }
        }
        try txn.put(meta, Schema.MetaKey.applied, LogCodec.encode(applied))
        return applied
    }

    private func each(
        _ db: Database, _ txn: Transaction, _ body: ([UInt8], [UInt8]) throws(KVStoreError) -> Void
    ) throws(KVStoreError) {
        try txn.withCursor(db) { c throws(KVStoreError) in
            var pair = try c.first()
            while let (key, value) = pair {
                try body(key, value)
                pair = try c.next()
            }
        }
    }
}
