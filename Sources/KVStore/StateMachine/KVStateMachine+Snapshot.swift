import CLMDB
import RaftCore

/// Moving the whole state machine into and out of the snapshot format.
extension KVStateMachine {
    /// Streams the state as of `txn` (a read transaction: writes continue meanwhile) into
    /// `writer`.
    func write(_ txn: Transaction, to writer: inout SnapshotWriter) throws(KVStoreError) {
        try each(kv, txn) { key, value throws(KVStoreError) in
            // Decoded once so a damaged record fails the snapshot instead of spreading.
            try writer.write(.key(key: key, stored: try KVRecord(key: key, stored: value).encodedValue()))
        }
        try writer.write(.compactRevision(try compactRevision(txn)))
        try each(history, txn) { position, event throws(KVStoreError) in
            try writer.write(.event(position: position, event: event))
        }
        for lease in try leaseTable.all(txn) { try writer.write(.lease(lease)) }
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
        try txn.clear(history)
        try leaseTable.clear(txn)
        try txn.delete(meta, Schema.MetaKey.compactRevision)
        var reader = SnapshotReader(file: file)
        var hasCompactRevision = false
        let applied = try reader.readAll { record throws(KVStoreError) in
            switch record {
            case .pair(let key, let revision, let value):
                try Self.appendInOrder(txn, kv, key, KVRecord(key: String(decoding: key, as: UTF8.self), value: value, revision: revision).encodedValue())
            case .key(let key, let stored):
                let record = try Self.fromSnapshot { () throws(KVStoreError) in try KVRecord(key: key, stored: stored) }
                try Self.appendInOrder(txn, kv, key, record.encodedValue())
                // Leases come before or after their keys; the key list is rebuilt from the keys.
                if record.lease != 0 { try leaseTable.attach(record.key, to: record.lease, txn) }
            case .event(let position, let event):
                try Self.fromSnapshot { () throws(KVStoreError) in
                    _ = try EventPosition(key: position)
                    _ = try KVEvent(decoding: event)
                }
                try Self.appendInOrder(txn, history, position, event)
            case .lease(let lease):
                try leaseTable.put(lease, txn)
            case .compactRevision(let revision):
                hasCompactRevision = true
                try txn.put(meta, Schema.MetaKey.compactRevision, revision.orderedKey)
            case .session(let clientID, let session):
                try sessionTable.put(clientID, session, txn)
            case .member(let member):
                try memberTable.put(member, txn)
            }
        }
        if !hasCompactRevision {
            // A version 1 snapshot carries no history: what happened up to its index is
            // unknown here, so reads and watches from before it are refused as compacted
            // instead of being answered from a history that looks empty.
            try txn.put(meta, Schema.MetaKey.compactRevision, applied.index.orderedKey)
        }
        try txn.put(meta, Schema.MetaKey.applied, LogCodec.encode(applied))
        return applied
    }

    /// Keys and history events come in LMDB's key order (`write` walks the databases), so
    /// they are appended: pages fill whole instead of splitting half empty, and a million
    /// keys install in a fraction of the time. A file out of that order, or with a key twice,
    /// is a damaged snapshot, not damaged storage.
    private static func appendInOrder(_ txn: Transaction, _ db: Database, _ key: [UInt8], _ value: [UInt8]) throws(KVStoreError) {
        do {
            try txn.put(db, key, value, append: true)
        } catch .lmdb(_, let code, _) where code == MDB_KEYEXIST {
            throw .snapshotInvalid("records out of key order, or a key given twice")
        }
    }

    /// Decodes part of a snapshot record. Bytes that do not decode make a damaged snapshot
    /// (`snapshotInvalid`: the install is abandoned and the transfer starts over), not
    /// damaged storage (`corrupt`, which stops the node): the checksum was not reached yet.
    @discardableResult
    private static func fromSnapshot<T>(_ decode: () throws(KVStoreError) -> T) throws(KVStoreError) -> T {
        do throws(KVStoreError) {
            return try decode()
        } catch .corrupt(let why) {
            throw .snapshotInvalid(why)
        }
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
