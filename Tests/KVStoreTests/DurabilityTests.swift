import Foundation
import KVStore
import RaftCore
import Testing

@Suite struct DurabilityTests {
    @Test func reopenAfterCleanCloseKeepsEverything() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let hardState = HardState(term: 3, vote: "n2", commit: 4)
        let entries = [
            configEntry(1, term: 1, ConfChange(kind: .addVoter, node: "n1", context: bytes("ctx"))),
            entry(2, term: 2, .put("a", bytes("A"), requestID: ClientRequestID(clientID: 9, sequence: 1))),
            entry(3, term: 3, .put("b", bytes("B"))),
            entry(4, term: 3, .delete("a")),
            entry(5, term: 3, .put("c", bytes("C"))),
        ]
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            #expect(!store.hasRaftState)
            try await store.log.persist(hardState: hardState, entries: entries)
            _ = try await store.stateMachine.apply(Array(entries.prefix(2)))
            try await store.createSnapshot()
            _ = try await store.stateMachine.apply(Array(entries[2..<4]))
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(store.hasRaftState)
        #expect(store.log.initialState().hardState == hardState)
        #expect(store.log.snapshotMetadata() == SnapshotMetadata(index: 2, term: 2, conf: ConfState(voters: ["n1"])))
        #expect(store.log.firstIndex() == 3)
        #expect(store.log.lastIndex() == 5)
        #expect(try store.log.entries(from: 3, to: 6, maxBytes: .max) == Array(entries[2...]))
        #expect(try store.stateMachine.appliedPosition() == LogPosition(index: 4, term: 3))
        #expect(try store.stateMachine.list() == [KVRecord(key: "b", value: bytes("B"), revision: 3)])
        #expect(try store.stateMachine.session(clientID: 9)?.result == KVResult(revision: 2))
        #expect(try store.stateMachine.members() == [MemberRecord(id: "n1", isVoter: true, context: bytes("ctx"))])
        let served = try store.log.snapshotData(offset: 0, maxBytes: 1 << 20)
        #expect(served.isLast && !served.bytes.isEmpty)
    }

    @Test func anApplyOnlyReadyAnswersBeforeItsCommitAndIsThereAfterReopen() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let entries = [entry(1, term: 1, .put("k", bytes("v"))), entry(2, term: 1, .delete("k"))]
        var ready = Ready()
        ready.hardState = HardState(term: 1, vote: "n1", commit: 2)
        ready.committedEntries = entries
        #expect(!ready.mustSync, "only the commit index moved")
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            try await store.log.persist(hardState: HardState(term: 1, vote: "n1", commit: 0), entries: entries)
            let early = AnswerRecorder()
            let results = try await store.persistAndApply(ready, applied: early.record)
            #expect(early.calls == [results])
            #expect(results.map(\.outcome) == [.applied(KVResult(revision: 1)), .applied(KVResult(revision: 2, deleted: true))])
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(store.log.initialState().hardState.commit == 2)
        #expect(try store.stateMachine.appliedPosition() == LogPosition(index: 2, term: 1))
        #expect(try store.stateMachine.get("k") == nil)
    }

    @Test func mapGrowsFromATinyInitialSize() async throws {
        let options = StoreOptions(lmdb: LMDBOptions(initialMapSize: 64 << 10))
        try await withStore(options: options) { store, _ in
            let initial = store.mapSize
            let value = [UInt8](repeating: 0x5A, count: 4000)
            for batch in 0..<10 {
                let entries = (1...50).map { i in
                    let index = UInt64(batch * 50 + i)
                    return entry(index, term: 1, .put("key-\(index)", value))
                }
                try await store.log.persist(hardState: nil, entries: entries)
                _ = try await store.stateMachine.apply(entries)
            }
            #expect(store.mapSize > initial)
            #expect(store.mapSize >= 4 << 20)
            #expect(try store.stateMachine.list().count == 500)
            #expect(try store.log.entries(from: 1, to: 501, maxBytes: .max).count == 500)
        }
    }

    @Test func aMapThatCannotGrowIsStorageFullAndNothingIsLost() async throws {
        let options = StoreOptions(lmdb: LMDBOptions(initialMapSize: 64 << 10, maxMapSize: 256 << 10))
        try await withStore(options: options) { store, _ in
            let small = [entry(1, term: 1, .put("kept", bytes("yes")))]
            try await store.log.persist(hardState: HardState(term: 1, commit: 1), entries: small)
            _ = try await store.stateMachine.apply(small)
            let huge = entry(2, term: 1, .put("huge", [UInt8](repeating: 1, count: 1 << 20)))
            await #expect(throws: KVStoreError.storageFull) {
                try await store.log.persist(hardState: HardState(term: 1, commit: 2), entries: [huge])
            }
            // The failed batch left no trace and the store still takes writes that fit.
            #expect(store.log.lastIndex() == 1)
            #expect(store.log.initialState().hardState.commit == 1)
            let next = [entry(2, term: 1, .put("after", bytes("ok")))]
            try await store.log.persist(hardState: nil, entries: next)
            _ = try await store.stateMachine.apply(next)
            #expect(try store.stateMachine.list().map(\.key) == ["after", "kept"])
        }
    }
}

/// Records what `persistAndApply` reported before committing, from the write thread.
final class AnswerRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [[AppliedEntry]] = []

    var calls: [[AppliedEntry]] { lock.withLock { recorded } }

    @Sendable func record(_ results: [AppliedEntry]) {
        lock.withLock { recorded.append(results) }
    }
}
