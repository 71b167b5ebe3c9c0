/// The named databases of a data directory and the fixed keys of `meta`.
enum Schema {
    /// Raft log: big-endian index → `LogCodec` entry.
    static let log = "log"
    /// Hard state, log start, snapshot metadata, applied position, WAL sequence.
    static let meta = "meta"
    /// UTF-8 key → `KVRecord` (`[version][revision]...[value]`; Docs/KVSTORE.md).
    static let kv = "kv"
    /// Big-endian client id → session record.
    static let sessions = "sessions"
    /// Big-endian (last index, client id) → empty: live sessions oldest first, for eviction.
    static let sessionAge = "session_age"
    /// Big-endian (last index, client id) → empty: evicted sessions oldest first, to forget.
    static let sessionEvictedAge = "session_evicted_age"
    /// Node id → `[version][voter u8][context]`.
    static let members = "members"

    /// `EventPosition` (revision, offset within it) → `KVEvent`: retained history.
    static let history = "history"
    /// Big-endian lease id → `LeaseRecord`.
    static let leases = "leases"
    /// Big-endian lease id → the keys attached to it, one duplicate each (`MDB_DUPSORT`,
    /// since a key may be as long as LMDB's key limit and so cannot share a key with the id).
    static let leaseKeys = "lease_keys"

    static let all = [log, meta, kv, sessions, sessionAge, sessionEvictedAge, members, history, leases, leaseKeys]

    /// Databases opened with `MDB_DUPSORT`.
    static let sortedDuplicates: Set<String> = [leaseKeys]

    enum MetaKey {
        static let hardState = Array("hard_state".utf8)
        static let logStart = Array("log_start".utf8)
        static let snapshot = Array("snapshot".utf8)
        /// Where the log was last compacted to without a snapshot file (`LMDBRaftStorage.State.base`).
        static let logBase = Array("log_base".utf8)
        static let applied = Array("applied".utf8)
        /// The last write-ahead log record LMDB holds.
        static let walSequence = Array("wal_sequence".utf8)
        /// History at and below this revision is gone (`KVStateMachine+History.swift`).
        static let compactRevision = Array("compact_revision".utf8)
    }
}
