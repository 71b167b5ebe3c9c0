import CLMDB
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Turns an LMDB or errno return code into the error a caller can act on.
enum LMDBStatus {
    static func check(_ code: Int32, _ operation: String) throws(KVStoreError) {
        if code != 0 { throw error(code, operation) }
    }

    static func error(_ code: Int32, _ operation: String) -> KVStoreError {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return .storageFull
        case MDB_BAD_VALSIZE: return .invalidKey("LMDB rejected the key size")
        default: return .lmdb(operation: operation, code: code, message: String(cString: mdb_strerror(code)))
        }
    }

    /// True for the one error the write path answers by growing the map and retrying.
    static func isMapFull(_ error: KVStoreError) -> Bool {
        if case .lmdb(_, let code, _) = error { return code == MDB_MAP_FULL }
        return false
    }
}
