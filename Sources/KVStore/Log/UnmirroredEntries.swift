import RaftCore

/// The newest entries of the log, in memory: those the write-ahead log holds durably but LMDB
/// does not yet (unmirrored), preceded by up to `retainedBytes` of entries LMDB already holds
/// (mirrored). They always form one run that ends at the newest entry written through the
/// write-ahead log, each tagged with the sequence of the WAL record that wrote it, so reads
/// see the newest version of every index while LMDB catches up.
///
/// Why keep mirrored entries: a follower that fell a little behind (a lost message, a short
/// partition) is sent the tail of the log, and serving it from here spares an LMDB read and
/// a decode of every entry, each time it is sent.
struct UnmirroredEntries: Sendable, Equatable {
    /// Bytes (`Entry.byteSize`) of mirrored entries kept for reads.
    static let retainedBytes = 8 << 20

    private(set) var entries: [Entry] = []
    private var sequences: [UInt64] = []
    /// The newest WAL record LMDB holds: entries of it and of older records are mirrored.
    private var mirroredThrough: UInt64 = 0
    /// How many entries at the front are mirrored, and their bytes. Kept as entries are
    /// mirrored, so a commit costs the entries it mirrors and drops, never a walk over the
    /// whole retained run (tens of thousands of entries under load).
    private var mirroredCount = 0
    private var mirroredBytes = 0

    var isEmpty: Bool { entries.isEmpty }
    var firstIndex: UInt64? { entries.first?.index }
    var lastIndex: UInt64? { entries.last?.index }
    /// The last index only the write-ahead log holds, if any: where the log ends when LMDB is
    /// behind. Once everything is mirrored, LMDB's copy says where the log ends.
    var lastUnmirroredIndex: UInt64? {
        guard let last = sequences.last, last > mirroredThrough else { return nil }
        return lastIndex
    }

    func entry(at index: UInt64) -> Entry? {
        guard let first = firstIndex, index >= first, index - first < UInt64(entries.count) else { return nil }
        return entries[Int(index - first)]
    }

    /// Entries `lo..<hi` (clamped to this run), stopping early once `maxBytes` is exceeded
    /// after at least one entry, adding to `size`.
    func slice(_ lo: UInt64, _ hi: UInt64, maxBytes: Int, size: inout Int, into result: inout [Entry]) {
        guard let first = firstIndex, hi > lo else { return }
        var index = max(lo, first)
        while index < hi, let entry = entry(at: index) {
            if !result.isEmpty && size + entry.byteSize > maxBytes { return }
            size += entry.byteSize
            result.append(entry)
            index += 1
        }
    }

    /// Records `new` (contiguous, starting at most one past the last index) written by WAL
    /// record `sequence`, replacing whatever they conflict with, as a log append does.
    mutating func append(_ new: [Entry], sequence: UInt64) {
        guard let start = new.first?.index else { return }
        if let first = firstIndex, start > first {
            let keep = Int(min(start - first, UInt64(entries.count)))
            entries.removeSubrange(keep...)
            sequences.removeSubrange(keep...)
            if keep < mirroredCount {
                // A conflict reached back into mirrored entries: rare, so count them again.
                mirroredCount = keep
                mirroredBytes = entries.reduce(0) { $0 + $1.byteSize }
            }
        } else {
            entries.removeAll(keepingCapacity: true)
            sequences.removeAll(keepingCapacity: true)
            mirroredCount = 0
            mirroredBytes = 0
        }
        entries.append(contentsOf: new)
        sequences.append(contentsOf: repeatElement(sequence, count: new.count))
        countMirrored()
    }

    /// LMDB now holds the entries of WAL records up to `sequence`. The oldest mirrored
    /// entries are forgotten past `retainedBytes`; unmirrored ones never are. Sequences never
    /// fall along the run, so the mirrored entries are a prefix.
    mutating func mirrored(through sequence: UInt64) {
        mirroredThrough = max(mirroredThrough, sequence)
        countMirrored()
        var drop = 0
        var dropped = 0
        while drop < mirroredCount, mirroredBytes - dropped > Self.retainedBytes {
            dropped += entries[drop].byteSize
            drop += 1
        }
        removeMirrored(drop, bytes: dropped)
    }

    /// LMDB's copy of the log changed other than by mirroring (a direct write, compaction, a
    /// snapshot): the mirrored entries may no longer match it, so only unmirrored ones stay.
    mutating func forgetMirrored() {
        removeMirrored(mirroredCount, bytes: mirroredBytes)
    }

    /// Extends the mirrored prefix over the entries whose records LMDB now holds.
    private mutating func countMirrored() {
        while mirroredCount < entries.count, sequences[mirroredCount] <= mirroredThrough {
            mirroredBytes += entries[mirroredCount].byteSize
            mirroredCount += 1
        }
    }

    private mutating func removeMirrored(_ count: Int, bytes: Int) {
        guard count > 0 else { return }
        entries.removeFirst(count)
        sequences.removeFirst(count)
        mirroredCount -= count
        mirroredBytes -= bytes
    }

    mutating func removeAll() {
        entries = []
        sequences = []
        mirroredCount = 0
        mirroredBytes = 0
    }
}
