import CLMDB
import FoundationEssentials

/// Sizing of the LMDB memory map. The map is address space, not disk: starting small and
/// doubling on `MDB_MAP_FULL` keeps small stores small without ever refusing a write the
/// disk could hold.
public struct LMDBOptions: Sendable {
    public var initialMapSize: Int
    /// Growth stops here and the write fails with `KVStoreError.storageFull`.
    public var maxMapSize: Int

    public init(initialMapSize: Int = 64 << 20, maxMapSize: Int = 1 << 40) {
        self.initialMapSize = initialMapSize
        self.maxMapSize = maxMapSize
    }
}

/// How a write transaction reaches the disk.
enum CommitDurability: Sendable {
    /// Data pages synced, then the meta page written and synced: the transaction survives
    /// a power loss once commit returns. Two syncs.
    case durable
    /// Data pages synced, the meta page left for the next sync (LMDB's per-transaction
    /// `MDB_NOMETASYNC`). The database is never corrupted, but a power loss may roll this
    /// transaction back: only for writes the Raft log can replay. One sync.
    case replayable
}

/// One LMDB environment (one data directory) with its named databases. Reads run on the
/// caller's thread (`MDB_NOTLS` allows that); writes run on the environment's write thread.
final class Environment: @unchecked Sendable {
    private let env: OpaquePointer
    private let gate = ResizeGate()
    private let writer: SerialThread
    private let maxMapSize: Int
    /// Changed only on the write thread, under the gate.
    private var mapSize: Int
    /// Guarded by `gate`: readers check it shared, `close` sets it exclusively.
    private var isClosed = false
    private let databases: [String: Database]
    /// LMDB's compile-time key limit (511 bytes in Debian's build).
    let maxKeySize: Int

    init(directory: String, databaseNames: [String], options: LMDBOptions) throws(KVStoreError) {
        try File.makeDirectory(directory)
        var pointer: OpaquePointer?
        try LMDBStatus.check(mdb_env_create(&pointer), "env_create")
        guard let env = pointer else { throw .lmdb(operation: "env_create", code: -1, message: "no environment") }
        do throws(KVStoreError) {
            try LMDBStatus.check(mdb_env_set_maxdbs(env, MDB_dbi(databaseNames.count)), "set_maxdbs")
            try LMDBStatus.check(mdb_env_set_mapsize(env, options.initialMapSize), "set_mapsize")
            // Never MDB_NOSYNC or MDB_NOMETASYNC: a commit that returns is on disk.
            // Never MDB_WRITEMAP: a full disk would then be SIGBUS instead of ENOSPC.
            let flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
            try LMDBStatus.check(mdb_env_open(env, directory, flags, 0o600), "env_open \(directory)")
            // Reader slots of a process killed mid-read would otherwise pin old pages forever.
            var dead: Int32 = 0
            try LMDBStatus.check(mdb_reader_check(env, &dead), "reader_check")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.env = env
        self.maxMapSize = max(options.maxMapSize, options.initialMapSize)
        self.maxKeySize = Int(mdb_env_get_maxkeysize(env))
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.mapSize = info.me_mapsize
        do throws(KVStoreError) {
            self.databases = try Self.openDatabases(env, databaseNames)
        } catch {
            mdb_env_close(env)
            throw error
        }
        do throws(KVStoreError) {
            self.writer = try SerialThread(name: "lmdb-writer")
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    deinit { close() }

    func database(_ name: String) -> Database {
        guard let db = databases[name] else { preconditionFailure("database \(name) was not declared") }
        return db
    }

    /// The size of the memory map now (it only grows).
    var currentMapSize: Int { gate.shared { mapSize } }

    /// A read-only snapshot of the store for the duration of `body`, on this thread.
    func read<T>(_ body: (Transaction) throws(KVStoreError) -> T) throws(KVStoreError) -> T {
        try gate.shared { () throws(KVStoreError) -> T in
            if isClosed { throw .closed }
            var txn: OpaquePointer?
            try LMDBStatus.check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "txn_begin(read)")
            defer { mdb_txn_abort(txn) }
            return try body(Transaction(handle: txn!, isReadOnly: true))
        }
    }

    /// Runs `body` on the write thread, where `transact` may be called.
    func onWriteThread<T: Sendable>(
        _ body: @escaping @Sendable () throws(KVStoreError) -> T
    ) async throws(KVStoreError) -> T {
        try await writer.run(body)
    }

    /// Flushes the data file: the last commit, even a replayable one, is durable after this.
    func sync() throws(KVStoreError) {
        try gate.shared { () throws(KVStoreError) in
            if isClosed { throw .closed }
            try LMDBStatus.check(mdb_env_sync(env, 1), "env_sync")
        }
    }

    /// Queues `job` on the write thread without waiting for it.
    func submitOnWriteThread(_ job: @escaping @Sendable () -> Void) {
        writer.submit(job)
    }

    /// Runs `body` on the write thread and blocks until it is done (opening a store).
    func onWriteThreadAndWait<T>(_ body: @escaping () throws(KVStoreError) -> T) throws(KVStoreError) -> T {
        try writer.runAndWait(body)
    }

    /// Runs on the write thread before every `transact`: LMDB has one write transaction at a
    /// time, so one left open across jobs (`DurableStore`'s queued applies) is committed
    /// first, and nothing queued before the job is overtaken by it.
    var beforeTransact: () throws(KVStoreError) -> Void = {}

    /// One write transaction. `body` may run more than once (the map grows between
    /// attempts), so it must not change anything outside the transaction. `beforeCommit`
    /// sees the result of the attempt that is about to commit.
    func transact<T>(
        _ durability: CommitDurability = .durable, _ body: (Transaction) throws(KVStoreError) -> T,
        beforeCommit: (T) -> Void = { _ in }
    ) throws(KVStoreError) -> T {
        precondition(writer.isCurrent, "write transactions belong on the write thread")
        try beforeTransact()
        while true {
            do throws(KVStoreError) {
                return try attempt(durability, body, beforeCommit)
            } catch where LMDBStatus.isMapFull(error) {
                try grow()
            }
        }
    }

    /// Stops the write thread after its queued jobs and closes the environment.
    func close() {
        writer.stop()
        gate.exclusive {
            if isClosed { return }
            isClosed = true
            mdb_env_close(env)
        }
    }

    /// Begins a write transaction to be finished with `commit` or `abort`, possibly in a
    /// later job on the write thread; no `transact` may run meanwhile.
    func beginWrite(_ durability: CommitDurability) throws(KVStoreError) -> Transaction {
        precondition(writer.isCurrent, "write transactions belong on the write thread")
        if isClosed { throw .closed }
        var txn: OpaquePointer?
        let flags: UInt32 = durability == .replayable ? UInt32(MDB_NOMETASYNC) : 0
        try LMDBStatus.check(mdb_txn_begin(env, nil, flags, &txn), "txn_begin(write)")
        return Transaction(handle: txn!, isReadOnly: false)
    }

    /// Commits a transaction from `beginWrite`; it is gone afterwards, even on failure.
    func commit(_ txn: Transaction) throws(KVStoreError) {
        let code = mdb_txn_commit(txn.handle)
        writeTransactionEnded(code == 0)
        try LMDBStatus.check(code, "commit")
    }

    func abort(_ txn: Transaction) {
        mdb_txn_abort(txn.handle)
        writeTransactionEnded(false)
    }

    /// Runs on the write thread once a write transaction is gone, after new readers can see
    /// what it committed; the argument says whether it committed.
    var writeTransactionEnded: (_ committed: Bool) -> Void = { _ in }

    private func attempt<T>(
        _ durability: CommitDurability, _ body: (Transaction) throws(KVStoreError) -> T, _ beforeCommit: (T) -> Void
    ) throws(KVStoreError) -> T {
        let txn = try beginWrite(durability)
        let result: T
        do throws(KVStoreError) {
            result = try body(txn)
        } catch {
            abort(txn)
            throw error
        }
        beforeCommit(result)
        try commit(txn)
        return result
    }

    /// Doubles the map (up to the limit). No write transaction may be open.
    func grow() throws(KVStoreError) {
        guard mapSize < maxMapSize else { throw .storageFull }
        let target = mapSize > maxMapSize / 2 ? maxMapSize : mapSize * 2
        try gate.exclusive { () throws(KVStoreError) in
            try LMDBStatus.check(mdb_env_set_mapsize(env, target), "set_mapsize")
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            mapSize = info.me_mapsize
        }
    }

    private static func openDatabases(_ env: OpaquePointer, _ names: [String]) throws(KVStoreError) -> [String: Database] {
        var txn: OpaquePointer?
        try LMDBStatus.check(mdb_txn_begin(env, nil, 0, &txn), "txn_begin(open)")
        var result: [String: Database] = [:]
        for name in names {
            var dbi: MDB_dbi = 0
            let flags = MDB_CREATE | (Schema.sortedDuplicates.contains(name) ? MDB_DUPSORT : 0)
            let code = mdb_dbi_open(txn, name, UInt32(flags), &dbi)
            if code != 0 {
                mdb_txn_abort(txn)
                throw LMDBStatus.error(code, "dbi_open \(name)")
            }
            result[name] = Database(handle: dbi)
        }
        try LMDBStatus.check(mdb_txn_commit(txn), "commit(open)")
        return result
    }
}
