import Foundation

/// Everything that can go wrong below the HTTP layer, typed so that each case maps to one
/// answer: a client mistake (400), a full disk (507), or a server fault (500).
public enum KVStoreError: Error, Sendable, Equatable {
    /// The key's UTF-8 form is longer than LMDB accepts.
    case keyTooLarge(size: Int, limit: Int)
    /// The key cannot be stored at all (LMDB has no empty keys).
    case invalidKey(String)
    /// The disk (or the configured map ceiling) has no room for the write; nothing was written.
    case storageFull
    /// A log entry's command bytes do not decode.
    case invalidCommand(String)
    /// Entries were handed to the state machine with a gap.
    case outOfOrder(expected: UInt64, got: UInt64)
    /// A snapshot file or staged chunk sequence failed validation.
    case snapshotInvalid(String)
    /// Stored bytes do not decode; the data directory was damaged outside this program.
    case corrupt(String)
    /// A system call failed.
    case io(operation: String, errno: Int32)
    /// LMDB reported an error with no more specific meaning here.
    case lmdb(operation: String, code: Int32, message: String)
    /// The store was closed.
    case closed

    /// The HTTP status a front end should answer with.
    public var httpStatus: Int {
        switch self {
        case .keyTooLarge, .invalidKey, .invalidCommand: 400
        case .storageFull: 507
        case _ where isResourceExhausted: 503
        default: 500
        }
    }

    /// Out of LMDB reader slots (`MDB_READERS_FULL`) or file descriptors (`EMFILE`,
    /// `ENFILE`): a passing overload, answered 503 with Retry-After rather than as a fault.
    public var isResourceExhausted: Bool {
        switch self {
        case .lmdb(_, let code, _): code == Self.lmdbReadersFull || code == EMFILE || code == ENFILE
        case .io(_, let code): code == EMFILE || code == ENFILE
        default: false
        }
    }

    /// `MDB_READERS_FULL` from lmdb.h (this file does not import the C module).
    static let lmdbReadersFull: Int32 = -30790
}
