import KVStore
import RaftCore
import Testing

/// Per-key revisions, the history of changes, reads at a past revision, paging through
/// events, and compaction.
@Suite struct KeyHistoryTests {
    @Test func createRevisionAndVersionFollowAKeysLife() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("k", bytes("a"))),
                entry(2, term: 1, .put("other", [])),
                entry(3, term: 1, .put("k", bytes("b"))),
                entry(4, term: 1, .put("k", bytes("c"))),
            ])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("c"), revision: 4, createRevision: 1, version: 3))
            _ = try await sm.apply([entry(5, term: 1, .delete("k"))])
            #expect(try sm.get("k") == nil)
            _ = try await sm.apply([entry(6, term: 1, .put("k", bytes("again")))])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("again"), revision: 6, createRevision: 6, version: 1),
                    "a re-created key starts a new life")
            #expect(sm.revision == 6)
        }
    }

    @Test func everyChangeIsOneEventWithItsPreviousRecord() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("p/a", bytes("1"))),
                entry(2, term: 1, .put("p/b", bytes("2"))),
                entry(3, term: 1, .put("p/a", bytes("3"))),
                Entry(term: 1, index: 4),
                entry(5, term: 1, .delete("missing")),
                entry(6, term: 1, KVCommand(.txn(TxnRequest(success: [.deletePrefix("p/"), .put(key: "q", value: bytes("x"), lease: 0)])))),
            ])
            let a1 = KVRecord(key: "p/a", value: bytes("1"), revision: 1)
            let b = KVRecord(key: "p/b", value: bytes("2"), revision: 2)
            let a3 = KVRecord(key: "p/a", value: bytes("3"), revision: 3, createRevision: 1, version: 2)
            let events = try sm.events(after: 0, limit: 100)
            #expect(events == [
                KVEvent(kind: .put, record: a1, previous: nil),
                KVEvent(kind: .put, record: b, previous: nil),
                KVEvent(kind: .put, record: a3, previous: a1),
                // A no-op and a delete of nothing change no key and leave no event.
                KVEvent(kind: .delete, record: KVRecord(key: "p/a", value: [], revision: 6, createRevision: 0, version: 0), previous: a3),
                KVEvent(kind: .delete, record: KVRecord(key: "p/b", value: [], revision: 6, createRevision: 0, version: 0), previous: b),
                KVEvent(kind: .put, record: KVRecord(key: "q", value: bytes("x"), revision: 6), previous: nil),
            ])
            #expect(try sm.events(after: 3, limit: 100) == Array(events.suffix(3)))
            #expect(try sm.events(after: 6, limit: 100).isEmpty)
            #expect(try sm.events(after: 60, limit: 100).isEmpty)
        }
    }

    @Test func aPageNeverEndsInsideARevision() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let many = TxnRequest(success: (0..<5).map { .put(key: "t\($0)", value: [], lease: 0) })
            _ = try await sm.apply([
                entry(1, term: 1, .put("a", [])),
                entry(2, term: 1, KVCommand(.txn(many))),
                entry(3, term: 1, .put("b", [])),
            ])
            #expect(try sm.events(after: 0, limit: 1).map(\.revision) == [1])
            #expect(try sm.events(after: 0, limit: 2).map(\.revision) == [1, 2, 2, 2, 2, 2], "the whole revision 2")
            #expect(try sm.events(after: 1, limit: 1).map(\.revision) == [2, 2, 2, 2, 2])
            #expect(try sm.events(after: 1, limit: 6).map(\.revision) == [2, 2, 2, 2, 2, 3])
            #expect(try sm.events(after: 0, limit: 0).map(\.revision) == [1], "at least one revision")
            // Paging by the last revision seen walks everything exactly once.
            var seen: [KVEvent] = []
            var after: UInt64 = 0
            while true {
                let page = try sm.events(after: after, limit: 2)
                guard let last = page.last else { break }
                seen += page
                after = last.revision
            }
            let everything = try sm.events(after: 0, limit: .max)
            #expect(seen == everything)
            #expect(seen.map(\.key) == ["a", "t0", "t1", "t2", "t3", "t4", "b"])
        }
    }

    @Test func readsAtAPastRevisionCoverEveryCase() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("changed", bytes("old"))),
                entry(2, term: 1, .put("deleted", bytes("here"))),
                entry(3, term: 1, .put("same", bytes("kept"))),
                entry(4, term: 1, .put("changed", bytes("new"))),
                entry(5, term: 1, .delete("deleted")),
                entry(6, term: 1, .put("late", bytes("born"))),
                entry(7, term: 1, .put("changed", bytes("newest"))),
            ])
            let old = KVRecord(key: "changed", value: bytes("old"), revision: 1)
            let new = KVRecord(key: "changed", value: bytes("new"), revision: 4, createRevision: 1, version: 2)
            // Changed since: the value before the first later change.
            #expect(try sm.get("changed", atRevision: 1) == old)
            #expect(try sm.get("changed", atRevision: 3) == old)
            #expect(try sm.get("changed", atRevision: 4) == new)
            #expect(try sm.get("changed", atRevision: 6) == new)
            #expect(try sm.get("changed", atRevision: 0) == nil, "before its creation")
            // Deleted since.
            #expect(try sm.get("deleted", atRevision: 4) == KVRecord(key: "deleted", value: bytes("here"), revision: 2))
            #expect(try sm.get("deleted", atRevision: 5) == nil)
            // Created after.
            #expect(try sm.get("late", atRevision: 5) == nil)
            #expect(try sm.get("late", atRevision: 6) == KVRecord(key: "late", value: bytes("born"), revision: 6))
            // Unchanged since: its current state.
            #expect(try sm.get("same", atRevision: 3) == KVRecord(key: "same", value: bytes("kept"), revision: 3))
            #expect(try sm.get("same", atRevision: 7) == sm.get("same"))
            #expect(try sm.get("never", atRevision: 7) == nil)
            // Not reached yet.
            #expect(throws: KVStoreError.futureRevision(requested: 8, current: 7)) { try sm.get("same", atRevision: 8) }
            // Compacted.
            let results = try await sm.apply([entry(8, term: 1, KVCommand(.compact(revision: 4)))])
            #expect(results.map(\.outcome) == [.applied(KVResult(revision: 8))])
            #expect(try sm.compactRevision() == 4)
            #expect(throws: KVStoreError.compacted(compactRevision: 4)) { try sm.get("changed", atRevision: 3) }
            #expect(throws: KVStoreError.compacted(compactRevision: 4)) { try sm.get("same", atRevision: 0) }
            // At the compact revision itself the state is still known.
            #expect(try sm.get("changed", atRevision: 4) == new)
            #expect(try sm.get("deleted", atRevision: 4) == KVRecord(key: "deleted", value: bytes("here"), revision: 2))
            #expect(throws: KVStoreError.self) { try sm.get("", atRevision: 4) }
        }
    }

    @Test func compactionForgetsHistoryAtAndBelowItsRevision() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply((1...6).map { entry(UInt64($0), term: 1, .put("k\($0 % 2)", bytes("v\($0)"))) })
            let all = try sm.events(after: 0, limit: .max)
            let results = try await sm.apply([
                entry(7, term: 1, KVCommand(.compact(revision: 3))),
                entry(8, term: 1, KVCommand(.compact(revision: 3))),
                entry(9, term: 1, KVCommand(.compact(revision: 2))),
                entry(10, term: 1, KVCommand(.compact(revision: 10))),
                entry(11, term: 1, KVCommand(.compact(revision: 99))),
                entry(12, term: 1, KVCommand(.compact(revision: 11))),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 7)),
                .rejected(.compacted(compactRevision: 3)),
                .rejected(.compacted(compactRevision: 3)),
                .rejected(.futureRevision(requested: 10, current: 9)),
                .rejected(.futureRevision(requested: 99, current: 10)),
                .applied(KVResult(revision: 12)),
            ])
            #expect(try sm.compactRevision() == 11)
            #expect(throws: KVStoreError.compacted(compactRevision: 11)) { try sm.events(after: 3, limit: 10) }
            #expect(try sm.events(after: 11, limit: 10).isEmpty)
            _ = try await sm.apply([entry(13, term: 1, .put("k1", bytes("later")))])
            #expect(try sm.events(after: 11, limit: 10).map(\.revision) == [13])
            // Keys themselves are untouched by compaction.
            #expect(try sm.get("k0") == all.last { $0.key == "k0" }?.record)
        }
    }

    @Test func aCompactionWithARequestIDIsRememberedLikeAnyWrite() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let id = ClientRequestID(clientID: 5, sequence: 1)
            let results = try await sm.apply([
                entry(1, term: 1, .put("k", [])),
                entry(2, term: 1, KVCommand(.compact(revision: 1), requestID: id)),
                entry(3, term: 1, KVCommand(.compact(revision: 1), requestID: id)),
                entry(4, term: 1, KVCommand(.compact(revision: 2), requestID: id)),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 1)), .applied(KVResult(revision: 2)),
                .duplicate(KVResult(revision: 2)), .requestMismatch,
            ])
        }
    }
}
