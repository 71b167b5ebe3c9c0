@testable import KVStore
import RaftCore
import Testing

/// The in-memory run of the newest log entries (`UnmirroredEntries`): what the write-ahead
/// log holds alone, plus a bounded tail LMDB already holds, kept so a follower that fell a
/// little behind is served without reading LMDB.
@Suite("Retained log tail")
struct RetainedLogTailTests {
    static func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1, bytes: Int = 0) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: [UInt8](repeating: 7, count: bytes)) }
    }

    @Test("mirrored entries stay readable, and the log's end is then LMDB's")
    func mirroredEntriesStayReadable() {
        var run = UnmirroredEntries()
        run.append(Self.entries(1...10), sequence: 1)
        #expect(run.lastUnmirroredIndex == 10)
        run.mirrored(through: 1)
        #expect(run.lastUnmirroredIndex == nil)
        #expect(run.firstIndex == 1 && run.lastIndex == 10)
        #expect(run.entry(at: 5)?.index == 5)
    }

    @Test("the mirrored tail is bounded in bytes, keeps the newest entries, and never drops unmirrored ones")
    func retentionIsBounded() {
        var run = UnmirroredEntries()
        let size = 64 * 1_024
        let perRecord: UInt64 = 32
        for record in UInt64(0)..<20 {
            run.append(Self.entries((record * perRecord + 1)...((record + 1) * perRecord), bytes: size - 24), sequence: record + 1)
        }
        run.mirrored(through: 18)
        let mirroredBytes = run.entries.filter { $0.index <= 18 * perRecord }.reduce(0) { $0 + $1.byteSize }
        #expect(mirroredBytes <= UnmirroredEntries.retainedBytes)
        #expect(mirroredBytes > UnmirroredEntries.retainedBytes - size, "as much as fits is kept")
        #expect(run.lastIndex == 20 * perRecord)
        #expect(run.entry(at: 18 * perRecord)?.index == 18 * perRecord, "the newest mirrored entries are kept")
        #expect((19 * perRecord + 1...20 * perRecord).allSatisfy { run.entry(at: $0) != nil }, "unmirrored ones all stay")
        #expect(run.lastUnmirroredIndex == 20 * perRecord)
    }

    @Test("a conflicting append replaces retained entries from its first index on")
    func conflictReplacesRetained() {
        var run = UnmirroredEntries()
        run.append(Self.entries(1...10, term: 1), sequence: 1)
        run.mirrored(through: 1)
        run.append(Self.entries(6...7, term: 2), sequence: 2)
        #expect(run.lastIndex == 7)
        #expect(run.entry(at: 5)?.term == 1)
        #expect(run.entry(at: 6)?.term == 2)
        #expect(run.entry(at: 8) == nil)
        #expect(run.lastUnmirroredIndex == 7)
    }

    @Test("a change to LMDB's log other than mirroring forgets the mirrored entries, not the unmirrored ones")
    func forgetMirroredKeepsUnmirrored() {
        var run = UnmirroredEntries()
        run.append(Self.entries(1...10), sequence: 1)
        run.append(Self.entries(11...12), sequence: 2)
        run.mirrored(through: 1)
        run.forgetMirrored()
        #expect(run.firstIndex == 11 && run.lastIndex == 12)
        #expect(run.lastUnmirroredIndex == 12)
    }
}
