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

    /// The run keeps counts of its mirrored prefix as it goes; this replays random appends
    /// (some conflicting), commits and other log changes against a plain list that recounts
    /// everything each time, and checks that both hold the same entries after every step.
    @Test("incremental mirroring keeps exactly what a full recount keeps", arguments: [UInt64(1), 2, 3, 4, 5])
    func incrementalMatchesRecount(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var run = UnmirroredEntries()
        var model: [(entry: Entry, sequence: UInt64)] = []
        var modelMirrored: UInt64 = 0
        var sequence: UInt64 = 0
        var nextIndex: UInt64 = 1
        var term: UInt64 = 1
        for step in 0..<2_000 {
            switch random.next() % 10 {
            case 0...5:
                // An append, now and then reaching back over the newest entries.
                var start = nextIndex
                if random.next() % 8 == 0, let first = model.first?.entry.index, nextIndex > first {
                    start = nextIndex - 1 - random.next() % min(nextIndex - first, 40)
                    term += 1
                }
                let count = 1 + random.next() % 30
                // One buffer shared by the append's entries: sizes count, copies are not needed.
                let data = [UInt8](repeating: 7, count: Int(random.next() % 600_000))
                let new = (start...(start + count - 1)).map { Entry(term: term, index: $0, data: data) }
                sequence += 1
                run.append(new, sequence: sequence)
                if let first = model.first?.entry.index, start > first {
                    model.removeSubrange(Int(min(start - first, UInt64(model.count)))...)
                } else {
                    model.removeAll()
                }
                model += new.map { ($0, sequence) }
                nextIndex = start + count
            case 6...8:
                let through = sequence - min(sequence, random.next() % 3)
                run.mirrored(through: through)
                modelMirrored = max(modelMirrored, through)
                let mirrored = model.prefix { $0.sequence <= modelMirrored }.count
                var keepFrom = mirrored
                var kept = 0
                while keepFrom > 0, kept + model[keepFrom - 1].entry.byteSize <= UnmirroredEntries.retainedBytes {
                    keepFrom -= 1
                    kept += model[keepFrom].entry.byteSize
                }
                model.removeFirst(keepFrom)
            default:
                run.forgetMirrored()
                model.removeFirst(model.prefix { $0.sequence <= modelMirrored }.count)
            }
            #expect(run.entries == model.map(\.entry), "seed \(seed), step \(step)")
            let lastUnmirrored = model.last.flatMap { $0.sequence > modelMirrored ? $0.entry.index : nil }
            #expect(run.lastUnmirroredIndex == lastUnmirrored, "seed \(seed), step \(step)")
            if run.entries != model.map(\.entry) { return }
        }
    }
}
