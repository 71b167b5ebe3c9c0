import CLMDB

/// A named database inside the environment.
struct Database: Sendable, Equatable {
    let handle: MDB_dbi
}

/// A live LMDB transaction. It holds a raw pointer, so it is not `Sendable`: the compiler
/// keeps it on the thread that began it, and since it only exists inside synchronous
/// closures it can never be held across an `await`.
struct Transaction {
    let handle: OpaquePointer
    let isReadOnly: Bool

    func get(_ db: Database, _ key: [UInt8]) throws(KVStoreError) -> [UInt8]? {
        var value = MDB_val()
        let code = withValue(key) { k in mdb_get(handle, db.handle, &k, &value) }
        if code == MDB_NOTFOUND { return nil }
        try LMDBStatus.check(code, "get")
        return value.bytes
    }

    func put(_ db: Database, _ key: [UInt8], _ value: [UInt8], append: Bool = false) throws(KVStoreError) {
        let flags: UInt32 = append ? UInt32(MDB_APPEND) : 0
        let code = withValue(key) { k in withValue(value) { v in mdb_put(handle, db.handle, &k, &v, flags) } }
        try LMDBStatus.check(code, "put")
    }

    /// Returns whether the key existed.
    @discardableResult
    func delete(_ db: Database, _ key: [UInt8]) throws(KVStoreError) -> Bool {
        let code = withValue(key) { k in mdb_del(handle, db.handle, &k, nil) }
        if code == MDB_NOTFOUND { return false }
        try LMDBStatus.check(code, "delete")
        return true
    }

    /// Removes one duplicate of `key` from an `MDB_DUPSORT` database; returns whether it was there.
    @discardableResult
    func deleteDuplicate(_ db: Database, _ key: [UInt8], _ value: [UInt8]) throws(KVStoreError) -> Bool {
        let code = withValue(key) { k in withValue(value) { v in mdb_del(handle, db.handle, &k, &v) } }
        if code == MDB_NOTFOUND { return false }
        try LMDBStatus.check(code, "delete duplicate")
        return true
    }

    /// Every duplicate of `key` in an `MDB_DUPSORT` database, in order.
    func duplicates(_ db: Database, _ key: [UInt8]) throws(KVStoreError) -> [[UInt8]] {
        try withCursor(db) { c throws(KVStoreError) -> [[UInt8]] in
            var values: [[UInt8]] = []
            var pair = try c.seek(exactly: key)
            while let (_, value) = pair {
                values.append(value)
                pair = try c.nextDuplicate()
            }
            return values
        }
    }

    /// Empties a database but keeps it open.
    func clear(_ db: Database) throws(KVStoreError) {
        try LMDBStatus.check(mdb_drop(handle, db.handle, 0), "drop")
    }

    func count(_ db: Database) throws(KVStoreError) -> Int {
        var stat = MDB_stat()
        try LMDBStatus.check(mdb_stat(handle, db.handle, &stat), "stat")
        return stat.ms_entries
    }

    func withCursor<T>(_ db: Database, _ body: (inout Cursor) throws(KVStoreError) -> T) throws(KVStoreError) -> T {
        var pointer: OpaquePointer?
        try LMDBStatus.check(mdb_cursor_open(handle, db.handle, &pointer), "cursor_open")
        var cursor = Cursor(handle: pointer!)
        defer { mdb_cursor_close(pointer) }
        return try body(&cursor)
    }
}

/// Walks one database in key order. Keys and values are copied out, because LMDB's memory
/// is only valid until the transaction ends.
struct Cursor {
    let handle: OpaquePointer

    typealias Pair = (key: [UInt8], value: [UInt8])

    func first() throws(KVStoreError) -> Pair? { try move(MDB_FIRST) }
    func last() throws(KVStoreError) -> Pair? { try move(MDB_LAST) }
    func next() throws(KVStoreError) -> Pair? { try move(MDB_NEXT) }

    /// Positions on the first key greater than or equal to `key`.
    func seek(atLeast key: [UInt8]) throws(KVStoreError) -> Pair? {
        var k = MDB_val()
        var v = MDB_val()
        let code = withValue(key) { probe in
            k = probe
            return mdb_cursor_get(handle, &k, &v, MDB_SET_RANGE)
        }
        return try pair(code, k, v)
    }

    /// Positions on `key` itself (its first duplicate), or nil if it is absent.
    func seek(exactly key: [UInt8]) throws(KVStoreError) -> Pair? {
        var k = MDB_val()
        var v = MDB_val()
        let code = withValue(key) { probe in
            k = probe
            return mdb_cursor_get(handle, &k, &v, MDB_SET_KEY)
        }
        return try pair(code, k, v)
    }

    /// The next duplicate of the current key in an `MDB_DUPSORT` database.
    func nextDuplicate() throws(KVStoreError) -> Pair? { try move(MDB_NEXT_DUP) }

    func deleteCurrent() throws(KVStoreError) {
        try LMDBStatus.check(mdb_cursor_del(handle, 0), "cursor_del")
    }

    /// Deletes from the first key on while keys sort before `limit`; returns how many. Keys
    /// are compared where LMDB holds them and values are never read, so compacting a long
    /// run (history, the log) copies nothing.
    @discardableResult
    func deleteLeading(before limit: [UInt8]) throws(KVStoreError) -> Int {
        var deleted = 0
        var k = MDB_val()
        var v = MDB_val()
        var code = mdb_cursor_get(handle, &k, &v, MDB_FIRST)
        while code == 0 {
            let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            guard key.lexicographicallyPrecedes(limit) else { return deleted }
            try LMDBStatus.check(mdb_cursor_del(handle, 0), "cursor_del")
            deleted += 1
            // From the first key again rather than trusting where a delete left the cursor
            // (at the end of a page it may rest past the last key of that page).
            code = mdb_cursor_get(handle, &k, &v, MDB_FIRST)
        }
        if code != MDB_NOTFOUND { try LMDBStatus.check(code, "cursor_get") }
        return deleted
    }

    private func move(_ op: MDB_cursor_op) throws(KVStoreError) -> Pair? {
        var k = MDB_val()
        var v = MDB_val()
        return try pair(mdb_cursor_get(handle, &k, &v, op), k, v)
    }

    private func pair(_ code: Int32, _ k: MDB_val, _ v: MDB_val) throws(KVStoreError) -> Pair? {
        if code == MDB_NOTFOUND { return nil }
        try LMDBStatus.check(code, "cursor_get")
        return (k.bytes, v.bytes)
    }
}

extension MDB_val {
    var bytes: [UInt8] {
        guard mv_size > 0, let data = mv_data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: mv_size))
    }
}

/// Lends LMDB a view of `bytes` for the duration of one call.
func withValue<T>(_ bytes: [UInt8], _ body: (inout MDB_val) -> T) -> T {
    bytes.withUnsafeBytes { buffer in
        var value = MDB_val(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
        return body(&value)
    }
}
