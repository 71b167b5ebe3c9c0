/// The log as the Raft algorithm sees it: the durable part in `storage` followed by entries
/// appended in memory that the application has not yet persisted (`unstable`).
///
/// Keeping the not-yet-durable suffix here is what lets the core stay free of I/O: the
/// application receives `unstableEntries` in a `Ready`, writes them, and reports back with
/// `stableTo(index:term:)`.
package struct RaftLog {
    package let storage: any RaftStorage
    /// Entries not yet known to be durable; `unstable[0].index == unstableOffset`.
    package private(set) var unstable: [Entry] = []
    package private(set) var unstableOffset: UInt64
    /// An incoming snapshot not yet installed by the application; it replaces the whole log.
    package private(set) var pendingSnapshot: SnapshotMetadata?
    /// Highest index known to be committed.
    package private(set) var committed: UInt64
    /// Highest index the application has applied, as `advance` reports it.
    package private(set) var applied: UInt64
    /// Highest index handed to the application, in a Ready or early (see
    /// `RaftNode.takeCommittedEntries`); at least `applied`.
    package private(set) var handedOut: UInt64

    package init(storage: any RaftStorage, applied: UInt64) {
        self.storage = storage
        let (hardState, snapshot) = storage.initialState()
        unstableOffset = storage.lastIndex() + 1
        // The commit index is persisted lazily, and entries may be applied before the Ready
        // carrying their commit index is durable (`RaftNode.takeCommittedEntries`), so the
        // application's applied index can be ahead of it: having applied them proves those
        // entries committed, and they are in the durable log.
        committed = max(hardState.commit, snapshot.index, min(applied, storage.lastIndex()))
        self.applied = max(min(applied, committed), snapshot.index)
        self.handedOut = self.applied
    }

    // MARK: Shape

    package var firstIndex: UInt64 {
        if let pendingSnapshot { return pendingSnapshot.index + 1 }
        return storage.firstIndex()
    }

    package var lastIndex: UInt64 {
        if let last = unstable.last { return last.index }
        if let pendingSnapshot { return pendingSnapshot.index }
        return storage.lastIndex()
    }

    package var lastTerm: UInt64 { (try? term(at: lastIndex)) ?? 0 }

    /// The term of the entry at `index`; the snapshot index answers with the snapshot's term.
    package func term(at index: UInt64) throws(RaftStorageError) -> UInt64 {
        if index >= unstableOffset, !unstable.isEmpty || pendingSnapshot != nil {
            if let entry = unstableEntry(at: index) { return entry.term }
        }
        if let pendingSnapshot {
            if index == pendingSnapshot.index { return pendingSnapshot.term }
            if index < pendingSnapshot.index { throw .compacted }
            throw .unavailable
        }
        if index > lastIndex { throw .unavailable }
        return try storage.term(at: index)
    }

    /// True when our entry at `index` has `term` (index 0 always matches).
    package func matchTerm(index: UInt64, term expected: UInt64) -> Bool {
        guard let actual = try? term(at: index) else { return false }
        return actual == expected
    }

    /// The paper's "at least as up-to-date" comparison (section 5.4.1).
    package func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries in `lo..<hi`, limited to `maxBytes` (at least one entry when non-empty).
    package func entries(from lo: UInt64, to hi: UInt64, maxBytes: Int = .max) throws(RaftStorageError) -> [Entry] {
        if lo >= hi { return [] }
        if lo < firstIndex { throw .compacted }
        if hi > lastIndex + 1 { throw .unavailable }
        var result: [Entry] = []
        var size = 0
        if lo < unstableOffset {
            let stableHi = min(hi, unstableOffset)
            result = try storage.entries(from: lo, to: stableHi, maxBytes: maxBytes)
            size = result.reduce(0) { $0 + $1.byteSize }
            if result.count < Int(stableHi - lo) || stableHi == hi { return result }
        }
        let start = max(lo, unstableOffset)
        for index in start..<hi {
            let entry = unstable[Int(index - unstableOffset)]
            if !result.isEmpty && size + entry.byteSize > maxBytes { break }
            size += entry.byteSize
            result.append(entry)
        }
        return result
    }

    /// The last index in `floor...ceiling` holding `term`, searching backward; nil if there is
    /// none (used by the leader to skip a follower's conflicting term). The bounds keep a
    /// hint naming an old term from scanning the whole log.
    package func lastIndex(ofTerm wanted: UInt64, atMost ceiling: UInt64, atLeast floor: UInt64) -> UInt64? {
        var index = min(ceiling, lastIndex)
        while index >= max(firstIndex, floor) {
            guard let t = try? term(at: index) else { return nil }
            if t == wanted { return index }
            if t < wanted { return nil }
            index -= 1
        }
        return nil
    }

    /// The first index of the run of `term` that contains `index` (bounded below by what is
    /// committed, which is known to match the leader already).
    package func firstIndex(ofTermAt index: UInt64) -> UInt64 {
        guard let wanted = try? term(at: index) else { return index }
        var candidate = index
        let floor = max(firstIndex, committed + 1)
        while candidate > floor, let previous = try? term(at: candidate - 1), previous == wanted {
            candidate -= 1
        }
        return candidate
    }

    // MARK: Changes

    /// Appends new entries at the end (the leader's path).
    package mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index == lastIndex + 1, "leader append must extend the log")
        truncateAndAppend(entries)
    }

    /// The follower's path for AppendEntries whose `prevLogIndex`/`prevLogTerm` matched and
    /// whose entries follow it one by one (`RaftNode.dropReason`): skip entries we already
    /// hold, and from the first conflicting entry on, replace our suffix (Figure 2, receiver
    /// rule 3 and 4). Returns the last index of the new entries, or nil, changing nothing,
    /// when the entries contradict a committed one: no honest leader sends that (Leader
    /// Completeness), so the message is refused rather than allowed to rewrite history.
    package mutating func appendReplicated(_ entries: [Entry]) -> UInt64? {
        guard let lastNew = entries.last?.index else { return 0 }
        for (offset, entry) in entries.enumerated() where !matchTerm(index: entry.index, term: entry.term) {
            guard entry.index > committed, entry.index <= lastIndex + 1 else { return nil }
            truncateAndAppend(Array(entries[offset...]))
            break
        }
        return lastNew
    }

    private mutating func truncateAndAppend(_ entries: [Entry]) {
        let first = entries[0].index
        if first == unstableOffset + UInt64(unstable.count) {
            unstable.append(contentsOf: entries)
        } else if first <= unstableOffset {
            // Replaces part of the stable log: storage drops that suffix when these persist.
            unstableOffset = first
            unstable = entries
        } else {
            unstable.removeSubrange(Int(first - unstableOffset)...)
            unstable.append(contentsOf: entries)
        }
    }

    /// Raises the commit index, never past the entries we hold: a commit index names an
    /// entry of our own log or it means nothing.
    package mutating func commit(to index: UInt64) {
        let index = min(index, lastIndex)
        guard index > committed else { return }
        committed = index
    }

    /// Replaces the log with a received snapshot; the application installs it from a Ready.
    package mutating func restore(_ snapshot: SnapshotMetadata) {
        pendingSnapshot = snapshot
        unstable = []
        unstableOffset = snapshot.index + 1
        committed = max(committed, snapshot.index)
    }

    // MARK: Hand-off to the application

    package var unstableEntries: [Entry] { unstable }

    /// The last index that is durable (persisted by the application).
    package var stableLastIndex: UInt64 {
        if pendingSnapshot != nil { return firstIndex - 1 }
        return min(storage.lastIndex(), unstableOffset - 1)
    }

    package var hasEntriesToApply: Bool {
        pendingSnapshot == nil && min(committed, stableLastIndex) > handedOut
    }

    /// Hands out the committed entries not handed out yet; limited to durable ones, so what
    /// a node applies is always in its own stable log too. With `stopBeforeConfChange` the
    /// run ends before the first configuration change.
    package mutating func takeCommittedEntries(maxBytes: Int, stopBeforeConfChange: Bool = false) -> [Entry] {
        let hi = min(committed, stableLastIndex)
        guard hi > handedOut, pendingSnapshot == nil else { return [] }
        var taken = (try? entries(from: handedOut + 1, to: hi + 1, maxBytes: maxBytes)) ?? []
        if stopBeforeConfChange, let change = taken.firstIndex(where: { $0.kind == .configChange }) {
            taken.removeSubrange(change...)
        }
        if let last = taken.last { handedOut = last.index }
        return taken
    }

    /// The application persisted entries up to `index` (of `term`): drop them from memory,
    /// unless the suffix was replaced meanwhile (then the newer entries still need writing).
    package mutating func stableTo(index: UInt64, term: UInt64) {
        guard index >= unstableOffset, let entry = unstableEntry(at: index), entry.term == term else { return }
        let count = Int(index - unstableOffset) + 1
        unstable.removeFirst(count)
        unstableOffset = index + 1
    }

    /// The application installed the pending snapshot.
    package mutating func snapshotInstalled(_ snapshot: SnapshotMetadata) {
        guard pendingSnapshot == snapshot else { return }
        pendingSnapshot = nil
        applied = max(applied, snapshot.index)
        handedOut = max(handedOut, applied)
    }

    package mutating func appliedTo(_ index: UInt64) {
        precondition(index <= committed, "applied beyond commit")
        precondition(index <= handedOut, "applied beyond what was handed out")
        applied = max(applied, index)
    }

    /// Compares before converting: `index` may come from a message (a `prevLogIndex` of
    /// `UInt64.max`), and its distance from the offset need not fit in an `Int`.
    private func unstableEntry(at index: UInt64) -> Entry? {
        guard index >= unstableOffset, index - unstableOffset < UInt64(unstable.count) else { return nil }
        return unstable[Int(index - unstableOffset)]
    }
}
