import FoundationEssentials
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Reads the keys of a backup file (`DurableStore.writeBackup`) in byte order, a page at a
/// time: `GET /export` streams a prefix of them. One backup holds one revision of the whole
/// store, so an export is consistent however long the client takes to read it, without
/// holding an LMDB read transaction open meanwhile.
public struct BackupKeyReader {
    private var reader: SnapshotReader
    private let prefix: [UInt8]
    private var done = false

    public init(path: String, prefix: String) throws(KVStoreError) {
        reader = SnapshotReader(file: try File(path: path, flags: O_RDONLY))
        self.prefix = Array(prefix.utf8)
    }

    /// The next keys under the prefix, up to about `maxBytes` of keys and values (at least
    /// one); empty once there are no more. Keys come first in the file, in byte order, so
    /// reading stops at the first record that is not a key, or at the first key past the
    /// prefix.
    public mutating func nextPage(maxBytes: Int) throws(KVStoreError) -> [KVRecord] {
        var page: [KVRecord] = []
        var bytes = 0
        while !done && (page.isEmpty || bytes < maxBytes) {
            guard let record = try reader.next() else {
                done = true
                break
            }
            let key: [UInt8], stored: [UInt8]
            switch record {
            case .key(let k, let s): (key, stored) = (k, s)
            case .pair(let k, let revision, let value):
                (key, stored) = (k, KVRecord(key: String(decoding: k, as: UTF8.self), value: value, revision: revision).encodedValue())
            default:
                done = true
                continue
            }
            if !key.starts(with: prefix) {
                // Past the prefix: nothing after it can match.
                if prefix.lexicographicallyPrecedes(key) { done = true }
                continue
            }
            let decoded = try KVRecord(key: key, stored: stored)
            bytes += key.count + decoded.value.count
            page.append(decoded)
        }
        return page
    }
}
