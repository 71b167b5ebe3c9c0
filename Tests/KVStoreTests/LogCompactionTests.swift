import Foundation
import KVStore
import RaftCore
import Testing

/// The log is compacted without writing a snapshot file (`DurableStore.compactLog`): the
/// applied state is in LMDB, and a file is taken only when a follower needs one.
@Suite("Log compaction without snapshot files")
struct LogCompactionTests {
    /// A membership change at 1 and 2 (n2 joins), then puts.
    static func log(_ count: UInt64) -> [Entry] {
        (1...count).map { index in
            switch index {
            case 1: configEntry(1, term: 1, ConfChange(kind: .addVoter, node: "n1", context: bytes("a1")))
            case 2: configEntry(2, term: 1, ConfChange(kind: .addVoter, node: "n2", context: bytes("a2")))
            default: entry(index, term: 1 + index / 50, .put("k\(index % 10)", bytes("v\(index)")))
            }
        }
    }

    static func persistAndApply(_ entries: ArraySlice<Entry>, to store: DurableStore) async throws {
        try await store.log.persist(hardState: HardState(term: entries.last!.term, commit: entries.last!.index),
                                    entries: Array(entries))
        _ = try await store.stateMachine.apply(Array(entries))
    }

    @Test("compaction goes to the newest noted position at least the retained entries behind, and writes no file")
    func compactsToTheNotedPosition() async throws {
        try await withStore { store, dir in
            let entries = Self.log(300)
            try await Self.persistAndApply(entries[0..<100], to: store)
            try await store.compactLog(retainEntries: 50)
            #expect(store.log.firstIndex() == 1, "the first call only notes where it is")

            try await Self.persistAndApply(entries[100..<130], to: store)
            try await store.compactLog(retainEntries: 50)
            #expect(store.log.firstIndex() == 1, "30 entries after the noted 100 are fewer than the 50 to keep")

            try await Self.persistAndApply(entries[130..<200], to: store)
            try await store.compactLog(retainEntries: 50)
            #expect(store.log.firstIndex() == 131, "compacted to 130: 100 and 130 are both 50 behind 200, 130 is newer")
            #expect(try store.log.term(at: 130) == entries[129].term)
            #expect(try store.log.entries(from: 131, to: 201, maxBytes: .max) == Array(entries[130..<200]))

            let restart = store.log.initialState().snapshot
            #expect(restart == SnapshotMetadata(index: 130, term: entries[129].term, conf: ConfState(voters: ["n1", "n2"])),
                    "RaftCore restarts from the base, with the membership in force there")

            try await Self.persistAndApply(entries[200..<220], to: store)
            try await store.compactLog(retainEntries: 50)
            #expect(store.log.firstIndex() == 131, "200 is only 20 behind 220")
            #expect(store.log.storedSnapshot == .empty)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/snapshots")
            #expect(files.isEmpty, "no snapshot file: \(files)")
        }
    }

    @Test("a snapshot older than the log's start is not offered; asking for it makes one wanted, and taking it serves it")
    func outdatedSnapshotIsTakenAgainWhenWanted() async throws {
        try await withStore { store, _ in
            let entries = Self.log(300)
            try await Self.persistAndApply(entries[0..<60], to: store)
            let first = try await store.createSnapshot()
            #expect(store.log.snapshotMetadata() == first)
            #expect(!store.log.isSnapshotWanted)

            try await Self.persistAndApply(entries[60..<120], to: store)
            try await store.compactLog(retainEntries: 10)
            try await Self.persistAndApply(entries[120..<200], to: store)
            try await store.compactLog(retainEntries: 10)
            #expect(store.log.firstIndex() == 121)
            #expect(!store.log.isSnapshotWanted, "nobody asked yet")
            #expect(store.log.snapshotMetadata() == .empty, "a follower given index 60 would lack 61 to 120")
            #expect(store.log.isSnapshotWanted)
            #expect(store.log.storedSnapshot == first)

            let second = try await store.createSnapshot(retainEntries: 10)
            #expect(second.index == 200)
            #expect(!store.log.isSnapshotWanted)
            #expect(store.log.snapshotMetadata() == second)
            #expect(store.log.initialState().snapshot == second)
        }
    }

    @Test("a reopened store starts its log where it was compacted, with the membership there")
    func baseSurvivesReopening() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let entries = Self.log(200)
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            try await Self.persistAndApply(entries[0..<100], to: store)
            try await store.compactLog(retainEntries: 20)
            try await Self.persistAndApply(entries[100..<200], to: store)
            try await store.compactLog(retainEntries: 20)
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(store.log.firstIndex() == 101)
        #expect(store.log.lastIndex() == 200)
        #expect(store.log.initialState().snapshot.index == 100)
        #expect(store.log.initialState().snapshot.conf == ConfState(voters: ["n1", "n2"]))
        #expect(store.log.snapshotMetadata() == .empty)
    }
}
