import RaftCore
import Testing

/// `RaftLog` on its own: the durable log in `MemoryStorage` followed by the entries the
/// application has not persisted yet. Indexes and terms in these tests reach the log from
/// AppendEntries, so the extremes (0, `UInt64.max`) must answer, never trap.
@Suite("RaftLog")
struct RaftLogTests {
    /// Entries `first...` with the given terms, each carrying one byte of payload.
    static func entries(from first: UInt64, terms: [UInt64]) -> [Entry] {
        terms.enumerated().map { offset, term in Entry(term: term, index: first + UInt64(offset), data: [UInt8(offset % 256)]) }
    }

    /// A storage holding `terms` as entries 1... and the given commit index.
    static func storage(terms: [UInt64], commit: UInt64 = 0) -> MemoryStorage {
        let storage = MemoryStorage()
        storage.append(entries(from: 1, terms: terms))
        storage.setHardState(HardState(term: terms.last ?? 0, vote: nil, commit: commit))
        return storage
    }

    /// What the application does after a Ready: write the unstable entries, then report them.
    static func persist(_ log: inout RaftLog) {
        guard let last = log.unstableEntries.last else { return }
        (log.storage as? MemoryStorage)?.append(log.unstableEntries)
        log.stableTo(index: last.index, term: last.term)
    }

    // MARK: Shape and term lookup

    @Test("an empty log starts at index 1, ends at 0, and index 0 has term 0")
    func emptyLog() throws {
        let log = RaftLog(storage: MemoryStorage(), applied: 0)
        #expect(log.firstIndex == 1 && log.lastIndex == 0 && log.lastTerm == 0)
        #expect(log.committed == 0 && log.applied == 0)
        #expect(try log.term(at: 0) == 0)
        #expect(log.matchTerm(index: 0, term: 0))
        #expect(throws: RaftStorageError.unavailable) { try log.term(at: 1) }
        #expect(throws: RaftStorageError.unavailable) { try log.term(at: .max) }
        #expect(!log.matchTerm(index: .max, term: 0))
        #expect(!log.hasEntriesToApply)
    }

    @Test("term lookup answers from the stable log and the unstable tail alike")
    func termLookupAcrossTheUnstableBoundary() throws {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 2]), applied: 0)
        log.append(Self.entries(from: 4, terms: [3, 3]))
        #expect(log.unstableOffset == 4 && log.unstableEntries.map(\.index) == [4, 5])
        #expect(try [1, 2, 3, 4, 5].map { try log.term(at: $0) } == [1, 1, 2, 3, 3])
        #expect(log.lastIndex == 5 && log.lastTerm == 3)
        #expect(throws: RaftStorageError.unavailable) { try log.term(at: 6) }
        #expect(log.matchTerm(index: 3, term: 2) && !log.matchTerm(index: 3, term: 3))
    }

    @Test("the commit index persisted in the hard state, or proven by what was applied, is restored")
    func initialCommitIndex() {
        let fromHardState = RaftLog(storage: Self.storage(terms: [1, 1, 1], commit: 2), applied: 0)
        #expect(fromHardState.committed == 2 && fromHardState.applied == 0)
        // Applying proves commitment, but never beyond the durable log.
        let fromApplied = RaftLog(storage: Self.storage(terms: [1, 1, 1], commit: 1), applied: 9)
        #expect(fromApplied.committed == 3 && fromApplied.applied == 3)
    }

    @Test("the up-to-date check compares last terms first, then last indexes (section 5.4.1)")
    func upToDate() {
        let log = RaftLog(storage: Self.storage(terms: [1, 2, 2]), applied: 0)
        #expect(log.isUpToDate(lastIndex: 3, lastTerm: 2))
        #expect(log.isUpToDate(lastIndex: 1, lastTerm: 3), "a higher last term wins whatever the length")
        #expect(!log.isUpToDate(lastIndex: 2, lastTerm: 2))
        #expect(!log.isUpToDate(lastIndex: .max, lastTerm: 1), "a longer log of an older term loses")
        #expect(!log.isUpToDate(lastIndex: 0, lastTerm: 0))
        #expect(log.isUpToDate(lastIndex: .max, lastTerm: .max))
    }

    // MARK: Appending

    @Test("a replicated run the log already holds is skipped, not truncated")
    func replicatedDuplicatesAreKept() {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 2, 2]), applied: 0)
        #expect(log.appendReplicated(Self.entries(from: 2, terms: [1, 2])) == 3)
        #expect(log.lastIndex == 4 && log.unstableEntries.isEmpty)
    }

    @Test("from the first conflicting entry on, the replicated run replaces the suffix")
    func replicatedConflictTruncates() throws {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 2, 2, 2]), applied: 0)
        #expect(log.appendReplicated(Self.entries(from: 3, terms: [2, 3])) == 4)
        #expect(log.lastIndex == 4, "entry 5 went with the conflicting entry 4")
        #expect(try log.term(at: 4) == 3)
        #expect(log.unstableOffset == 4 && log.unstableEntries.map(\.index) == [4])
        #expect(log.stableLastIndex == 3, "the replaced stable suffix no longer counts as durable")
        Self.persist(&log)
        #expect(log.stableLastIndex == 4 && log.unstableEntries.isEmpty)
        #expect(log.storage.lastIndex() == 4)
    }

    @Test("a conflict inside the unstable tail cuts only that tail")
    func conflictInsideTheUnstableTail() throws {
        var log = RaftLog(storage: Self.storage(terms: [1]), applied: 0)
        log.append(Self.entries(from: 2, terms: [1, 1, 1]))
        #expect(log.appendReplicated(Self.entries(from: 3, terms: [2])) == 3)
        #expect(log.unstableOffset == 2 && log.unstableEntries.map(\.term) == [1, 2])
        #expect(log.lastIndex == 3)
    }

    @Test("entries that contradict a committed entry, or leave a gap, are refused and change nothing")
    func replicatedRefusals() {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 1], commit: 2), applied: 0)
        #expect(log.appendReplicated(Self.entries(from: 2, terms: [2])) == nil, "entry 2 is committed")
        #expect(log.appendReplicated(Self.entries(from: 5, terms: [1])) == nil, "nothing at 4")
        #expect(log.lastIndex == 3 && log.unstableEntries.isEmpty)
        #expect(log.appendReplicated([]) == 0)
    }

    @Test("persisting reports only the entries still unstable, and ignores a report for a replaced suffix")
    func stableToRules() {
        var log = RaftLog(storage: Self.storage(terms: [1]), applied: 0)
        log.append(Self.entries(from: 2, terms: [1, 1]))
        log.stableTo(index: 3, term: 2)
        #expect(log.unstableEntries.count == 2, "wrong term: a newer suffix replaced what was written")
        log.stableTo(index: .max, term: 1)
        log.stableTo(index: 0, term: 0)
        #expect(log.unstableEntries.count == 2)
        log.stableTo(index: 2, term: 1)
        #expect(log.unstableOffset == 3 && log.unstableEntries.map(\.index) == [3])
    }

    // MARK: Reading ranges

    @Test("a range read joins storage and the unstable tail and stops at the byte limit, but returns one entry at least")
    func rangeReads() throws {
        var log = RaftLog(storage: Self.storage(terms: [1, 1]), applied: 0)
        log.append(Self.entries(from: 3, terms: [2, 2]))
        #expect(try log.entries(from: 1, to: 5).map(\.index) == [1, 2, 3, 4])
        #expect(try log.entries(from: 2, to: 4).map(\.index) == [2, 3])
        let oneEntry = Entry(term: 1, index: 1, data: [0]).byteSize
        #expect(try log.entries(from: 1, to: 5, maxBytes: 3 * oneEntry).count == 3)
        #expect(try log.entries(from: 2, to: 5, maxBytes: 0).map(\.index) == [2])
        #expect(try log.entries(from: 3, to: 5, maxBytes: 0).map(\.index) == [3])
        #expect(try log.entries(from: 4, to: 4).isEmpty)
        #expect(try log.entries(from: .max, to: 0).isEmpty)
        #expect(throws: RaftStorageError.compacted) { try log.entries(from: 0, to: 2) }
        #expect(throws: RaftStorageError.unavailable) { try log.entries(from: 1, to: 6) }
        #expect(throws: RaftStorageError.unavailable) { try log.entries(from: 1, to: .max) }
    }

    @Test("the last index of a term is searched backward within the given bounds")
    func lastIndexOfTerm() {
        let log = RaftLog(storage: Self.storage(terms: [1, 1, 2, 2, 4]), applied: 0)
        #expect(log.lastIndex(ofTerm: 2, atMost: 5, atLeast: 0) == 4)
        #expect(log.lastIndex(ofTerm: 2, atMost: .max, atLeast: 0) == 4)
        #expect(log.lastIndex(ofTerm: 1, atMost: 5, atLeast: 0) == 2)
        #expect(log.lastIndex(ofTerm: 3, atMost: 5, atLeast: 0) == nil, "no entry has term 3")
        #expect(log.lastIndex(ofTerm: 1, atMost: 5, atLeast: 3) == nil, "below the floor")
        #expect(log.lastIndex(ofTerm: .max, atMost: .max, atLeast: .max) == nil)
        #expect(log.lastIndex(ofTerm: 0, atMost: 0, atLeast: 0) == nil)
    }

    @Test("the first index of a term's run stops at the commit index")
    func firstIndexOfTermRun() {
        var log = RaftLog(storage: Self.storage(terms: [1, 2, 2, 2, 3], commit: 2), applied: 0)
        #expect(log.firstIndex(ofTermAt: 4) == 3, "entry 2 is committed and known to match")
        #expect(log.firstIndex(ofTermAt: 5) == 5)
        #expect(log.firstIndex(ofTermAt: .max) == .max, "an index we do not hold is its own answer")
        log.commit(to: 0)
        #expect(log.committed == 2)
    }

    // MARK: Commit and hand-off

    @Test("the commit index never passes the last entry and never goes back")
    func commitBounds() {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 1]), applied: 0)
        log.commit(to: .max)
        #expect(log.committed == 3)
        log.commit(to: 1)
        #expect(log.committed == 3)
    }

    @Test("committed entries are handed out once, only when durable, up to the byte limit")
    func handingOutCommittedEntries() {
        var log = RaftLog(storage: Self.storage(terms: [1, 1]), applied: 0)
        log.append(Self.entries(from: 3, terms: [1]))
        log.commit(to: 3)
        #expect(log.takeCommittedEntries(maxBytes: .max).map(\.index) == [1, 2], "entry 3 is not durable yet")
        #expect(log.takeCommittedEntries(maxBytes: .max).isEmpty)
        Self.persist(&log)
        #expect(log.hasEntriesToApply)
        #expect(log.takeCommittedEntries(maxBytes: 0).map(\.index) == [3])
        #expect(log.handedOut == 3 && log.applied == 0)
        log.appliedTo(3)
        #expect(log.applied == 3)
        log.appliedTo(1)
        #expect(log.applied == 3, "applied never goes back")
    }

    @Test("a hand-off can stop before the first configuration change")
    func stopBeforeConfChange() {
        let storage = Self.storage(terms: [1])
        storage.append([Entry(term: 1, index: 2, kind: .configChange), Entry(term: 1, index: 3)])
        var log = RaftLog(storage: storage, applied: 0)
        log.commit(to: 3)
        #expect(log.takeCommittedEntries(maxBytes: .max, stopBeforeConfChange: true).map(\.index) == [1])
        #expect(log.takeCommittedEntries(maxBytes: .max, stopBeforeConfChange: true).isEmpty)
        #expect(log.takeCommittedEntries(maxBytes: .max).map(\.index) == [2, 3])
    }

    // MARK: Snapshots and compaction

    @Test("after compaction the snapshot index answers with its term and everything below is compacted")
    func compactionBoundary() throws {
        let storage = Self.storage(terms: [1, 1, 2, 2, 3], commit: 5)
        storage.createSnapshot(SnapshotMetadata(index: 3, term: 2), data: [1])
        let log = RaftLog(storage: storage, applied: 3)
        #expect(log.firstIndex == 4 && log.lastIndex == 5 && log.applied == 3)
        #expect(try log.term(at: 3) == 2)
        #expect(throws: RaftStorageError.compacted) { try log.term(at: 2) }
        #expect(throws: RaftStorageError.compacted) { try log.term(at: 0) }
        #expect(throws: RaftStorageError.compacted) { try log.entries(from: 3, to: 5) }
        #expect(try log.entries(from: 4, to: 6).map(\.index) == [4, 5])
        #expect(log.lastIndex(ofTerm: 1, atMost: 5, atLeast: 0) == nil, "compacted terms are not found")
        #expect(!log.matchTerm(index: 2, term: 1))
    }

    @Test("a received snapshot replaces the whole log until the application installs it")
    func restoreSnapshot() throws {
        var log = RaftLog(storage: Self.storage(terms: [1, 1, 1], commit: 1), applied: 0)
        log.append(Self.entries(from: 4, terms: [1]))
        let snapshot = SnapshotMetadata(index: 10, term: 4, conf: ConfState(voters: ["n1"]))
        log.restore(snapshot)
        #expect(log.pendingSnapshot == snapshot)
        #expect(log.firstIndex == 11 && log.lastIndex == 10 && log.lastTerm == 4)
        #expect(log.committed == 10 && log.stableLastIndex == 10)
        #expect(log.unstableEntries.isEmpty)
        #expect(try log.term(at: 10) == 4)
        #expect(throws: RaftStorageError.compacted) { try log.term(at: 9) }
        #expect(throws: RaftStorageError.unavailable) { try log.term(at: 11) }
        #expect(!log.hasEntriesToApply, "nothing is applied from a log the snapshot replaces")
        #expect(log.takeCommittedEntries(maxBytes: .max).isEmpty)

        // Entries may follow the snapshot before it is installed.
        log.append(Self.entries(from: 11, terms: [4]))
        #expect(try log.term(at: 11) == 4 && log.lastIndex == 11)

        log.snapshotInstalled(SnapshotMetadata(index: 9, term: 4))
        #expect(log.pendingSnapshot == snapshot, "only the pending snapshot's installation counts")
        (log.storage as? MemoryStorage)?.installSnapshot(snapshot, data: [])
        log.snapshotInstalled(snapshot)
        #expect(log.pendingSnapshot == nil && log.applied == 10 && log.handedOut == 10)
        #expect(log.firstIndex == 11 && log.lastIndex == 11)
    }
}
