import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Everything that can go wrong in storage, typed so that a caller can tell a client's
/// mistake (a key or command that cannot be stored), a full disk, a passing overload and a
/// fault of the disk or the data directory apart.
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
    /// No lease has this id (never granted, revoked, or expired).
    case leaseNotFound(UInt64)
    /// The revision asked for is older than the retained history; history at and below
    /// `compactRevision` is gone.
    case compacted(compactRevision: UInt64)
    /// The revision asked for has not happened yet on this node.
    case futureRevision(requested: UInt64, current: UInt64)

    /// A refusal every replica reaches alike from the replicated state (so applying it as
    /// "rejected" keeps replicas identical), as opposed to a fault of this node's disk.
    public var isDeterministicRefusal: Bool {
        switch self {
        case .leaseNotFound, .compacted, .futureRevision, .invalidCommand, .invalidKey, .keyTooLarge: true
        default: false
        }
    }

    /// Out of LMDB reader slots (`MDB_READERS_FULL`) or file descriptors (`EMFILE`,
    /// `ENFILE`): a passing overload, to be retried shortly rather than treated as a fault.
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
