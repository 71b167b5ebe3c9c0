import RaftCore

/// Entries that are durable in the write-ahead log but not yet committed to LMDB's copy of
/// the log. They always form one run that ends at the log's last index, each tagged with
/// the sequence of the WAL record that wrote it, so reads see the newest version of every
/// index while LMDB catches up.
struct UnmirroredEntries: Sendable, Equatable {
    private(set) var entries: [Entry] = []
    private var sequences: [UInt64] = []

    var isEmpty: Bool { entries.isEmpty }
    var firstIndex: UInt64? { entries.first?.index }
    var lastIndex: UInt64? { entries.last?.index }

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
        } else {
            entries.removeAll(keepingCapacity: true)
            sequences.removeAll(keepingCapacity: true)
        }
        entries.append(contentsOf: new)
        sequences.append(contentsOf: repeatElement(sequence, count: new.count))
    }

    /// Forgets the entries of WAL records up to `sequence`, which LMDB now holds. Sequences
    /// never fall along the run, so they are a prefix.
    mutating func mirrored(through sequence: UInt64) {
        let count = sequences.prefix { $0 <= sequence }.count
        entries.removeFirst(count)
        sequences.removeFirst(count)
    }

    mutating func removeAll() {
        entries = []
        sequences = []
    }
}
