/// The named databases of a data directory and the fixed keys of `meta`.
enum Schema {
    /// Raft log: big-endian index → `LogCodec` entry.
    static let log = "log"
    /// Hard state, log start, snapshot metadata, applied position, WAL sequence.
    static let meta = "meta"
    /// UTF-8 key → `[version][revision u64][value]`.
    static let kv = "kv"
    /// Big-endian client id → session record.
    static let sessions = "sessions"
    /// Big-endian (last index, client id) → empty: live sessions oldest first, for eviction.
    static let sessionAge = "session_age"
    /// Big-endian (last index, client id) → empty: evicted sessions oldest first, to forget.
    static let sessionEvictedAge = "session_evicted_age"
    /// Node id → `[version][voter u8][context]`.
    static let members = "members"

    static let all = [log, meta, kv, sessions, sessionAge, sessionEvictedAge, members]

    enum MetaKey {
        static let hardState = Array("hard_state".utf8)
        static let logStart = Array("log_start".utf8)
        static let snapshot = Array("snapshot".utf8)
        static let applied = Array("applied".utf8)
        /// The last write-ahead log record LMDB holds.
        static let walSequence = Array("wal_sequence".utf8)
    }
}
