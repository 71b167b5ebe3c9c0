import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// What a snapshot file holds, found by reading it whole and checking its checksum: what
/// `kvctl snapshot status` prints and what `kv-node restore` checks before it touches a data
/// directory. Any file `GET /snapshot` served, or a node wrote for a follower, can be read.
public struct SnapshotSummary: Sendable, Equatable {
    /// The store's revision in the file: the log index it was taken at.
    public var revision: UInt64
    public var term: UInt64
    public var keys: Int
    public var historyEvents: Int
    public var leases: Int
    /// History at and below this revision is not in the file.
    public var compactRevision: UInt64
    /// The members of the cluster the file was taken from, by id.
    public var members: [String]
    public var bytes: UInt64
    /// The CRC-32 in the file's trailer, which every byte before it was checked against.
    public var checksum: UInt32

    /// Throws `snapshotInvalid` for anything that is not a complete, undamaged snapshot file,
    /// and `io` when the file cannot be read.
    public static func read(path: String) throws(KVStoreError) -> SnapshotSummary {
        try read(path: path) { _ throws(KVStoreError) in }
    }

    /// `read`, handing every record to `visit` on the way (`DurableStore.restore` copies them):
    /// the file is read once, and nothing `visit` did counts until the checksum at the end
    /// has been checked.
    static func read(path: String, _ visit: (SnapshotRecord) throws(KVStoreError) -> Void) throws(KVStoreError) -> SnapshotSummary {
        let file = try File(path: path, flags: O_RDONLY)
        var summary = SnapshotSummary(revision: 0, term: 0, keys: 0, historyEvents: 0, leases: 0,
                                      compactRevision: 0, members: [], bytes: try file.size(), checksum: 0)
        var reader = SnapshotReader(file: file)
        var sawCompactRevision = false
        let applied = try reader.readAll { record throws(KVStoreError) in
            switch record {
            case .pair, .key: summary.keys += 1
            case .event: summary.historyEvents += 1
            case .lease: summary.leases += 1
            case .member(let member): summary.members.append(member.id.rawValue)
            case .compactRevision(let revision):
                summary.compactRevision = revision
                sawCompactRevision = true
            case .session: break
            }
            try visit(record)
        }
        summary.revision = applied.index
        summary.term = applied.term
        // A version 1 file carries no history: everything up to it counts as compacted.
        if !sawCompactRevision { summary.compactRevision = applied.index }
        summary.members.sort()
        var trailer = ByteReader(try file.read(at: summary.bytes - 4, count: 4), what: "snapshot checksum")
        summary.checksum = try trailer.u32()
        return summary
    }
}
