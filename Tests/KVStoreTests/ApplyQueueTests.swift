import Foundation
@testable import KVStore
import RaftCore
import Testing

/// Queued applies: answered when applied, visible to readers once committed, never
/// overtaken by a later write on the LMDB thread, and never lost at close.
@Suite struct ApplyQueueTests {
    /// Collects what the queue reports, from the write thread.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var appliedResults: [[AppliedEntry]] = []
        private var doneResults: [Result<AppliedBatch, KVStoreError>] = []
        func applied(_ results: [AppliedEntry]) { lock.withLock { appliedResults.append(results) } }
        func done(_ result: Result<AppliedBatch, KVStoreError>) { lock.withLock { doneResults.append(result) } }
        var applied: [[AppliedEntry]] { lock.withLock { appliedResults } }
        var done: [Result<AppliedBatch, KVStoreError>] { lock.withLock { doneResults } }
    }

    /// Logs `entries` through the write-ahead log and queues them, committed, for applying.
    static func logAndQueue(_ store: DurableStore, _ entries: [Entry], _ reports: Reports) async throws {
        var ready = Ready()
        ready.hardState = HardState(term: 1, commit: entries.last!.index)
        ready.entries = entries
        ready.mustSync = true
        let sequence = try await store.writeAhead(ready)
        var applying = Ready()
        applying.committedEntries = entries
        store.enqueueApply(ready, walSequence: sequence, applied: { _ in }) { _ in }
        store.enqueueApply(applying, walSequence: nil, applied: reports.applied, done: reports.done)
    }

    static func waitUntil(_ condition: () throws -> Bool) async throws {
        while try !condition() { try await Task.sleep(for: .milliseconds(2)) }
    }

    @Test(.timeLimit(.minutes(1)))
    func answersComeFromApplyingAndReadersSeeTheCommit() async throws {
        try await withStore { store, _ in
            let reports = Reports()
            try await Self.logAndQueue(store, [entry(1, term: 1, .put("k", bytes("v")))], reports)
            try await Self.waitUntil { !reports.done.isEmpty }
            #expect(reports.applied.map { $0.map(\.outcome) } == [[.applied(KVResult(revision: 1))]])
            guard case .success(let batch) = reports.done.first else { Issue.record("\(reports.done)"); return }
            #expect(batch.results == reports.applied[0])
            #expect(try store.stateMachine.get("k")?.value == bytes("v"))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLaterLMDBWriteCommitsWhatIsQueuedFirst() async throws {
        try await withStore { store, _ in
            let reports = Reports()
            try await Self.logAndQueue(store, [entry(1, term: 1, .put("k", bytes("v")))], reports)
            // Goes straight to LMDB: it must not start before the queued batches are in.
            try await store.persist(hardState: HardState(term: 1, commit: 1), entries: [entry(2, term: 1, .put("k2", bytes("w")))])
            #expect(reports.done.count == 1, "the queued apply committed before the direct write")
            #expect(try store.stateMachine.get("k")?.value == bytes("v"))
            #expect(store.log.lastIndex() == 2)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func closingCommitsWhatIsApplied() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try DurableStore(directory: dir.path)
            try await Self.logAndQueue(store, [entry(1, term: 1, .put("k", bytes("v")))], Reports())
            store.close()
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(try store.stateMachine.appliedPosition() == LogPosition(index: 1, term: 1))
        #expect(try store.stateMachine.get("k")?.value == bytes("v"))
    }

    /// A write is answered when applied, so a local read right after the answer must see it
    /// although the transaction holding it has not committed yet.
    @Test(.timeLimit(.minutes(1)))
    func readersSeeAppliedWritesBeforeTheirCommit() async throws {
        try await withStore { store, _ in
            let reports = Reports()
            let before = [entry(1, term: 1, .put("k/1", bytes("one"))), entry(2, term: 1, .put("k/2", bytes("two"))),
                          entry(3, term: 1, .put("k/3", bytes("three")))]
            try await Self.logAndQueue(store, before, reports)
            try await Self.waitUntil { reports.done.count == 1 }

            // Holds the write thread after applying, so the transaction stays open while we read.
            let release = DispatchSemaphore(value: 0)
            let held = Reports()
            var ready = Ready()
            ready.hardState = HardState(term: 1, commit: 6)
            ready.entries = [entry(4, term: 1, .put("k/0", bytes("zero"))), entry(5, term: 1, .delete("k/2")),
                             entry(6, term: 1, .put("k/3", bytes("THREE")))]
            ready.mustSync = true
            let sequence = try await store.writeAhead(ready)
            var applying = Ready()
            applying.committedEntries = ready.entries
            store.enqueueApply(ready, walSequence: sequence, applied: { _ in }) { _ in }
            store.enqueueApply(applying, walSequence: nil, applied: { results in
                held.applied(results)
                release.wait()
            }, done: held.done)
            try await Self.waitUntil { !held.applied.isEmpty }

            #expect(held.done.isEmpty, "still uncommitted")
            #expect(try store.stateMachine.get("k/0")?.value == bytes("zero"))
            #expect(try store.stateMachine.get("k/2") == nil)
            #expect(try store.stateMachine.get("k/3") == KVRecord(key: "k/3", value: bytes("THREE"), revision: 6, createRevision: 3, version: 2))
            #expect(try store.stateMachine.get("k/1")?.value == bytes("one"))
            #expect(try store.stateMachine.list(prefix: "k/").map(\.key) == ["k/0", "k/1", "k/3"])
            #expect(try store.stateMachine.list(prefix: "k/", limit: 2).map(\.key) == ["k/0", "k/1"])
            #expect(try store.stateMachine.list(prefix: "k/", startAfter: "k/0", limit: 1).map(\.key) == ["k/1"])
            #expect(try store.stateMachine.list(prefix: "k/", startAfter: "k/1").map(\.value) == [bytes("THREE")])

            release.signal()
            try await Self.waitUntil { !held.done.isEmpty }
            #expect(try store.stateMachine.list(prefix: "k/").map(\.key) == ["k/0", "k/1", "k/3"])
            #expect(try store.stateMachine.get("k/2") == nil)
        }
    }
}
