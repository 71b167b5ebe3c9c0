import RaftCore
import Testing
@testable import KVStore

/// The state machine's side of `Idempotency-Key`: a request id answers a retry of the same
/// request with its first result, refuses a different request under the same id, and
/// refuses (never re-applies) a retry whose session was evicted.
@Suite struct IdempotentSessionTests {
    private let id = ClientRequestID(clientID: 7, sequence: 1)

    @Test func aRetryOfTheSameRequestGetsTheStoredResultAndIsNotAppliedAgain() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let results = try await sm.apply([
                entry(1, term: 1, .put("k", bytes("v"), requestID: id)),
                entry(2, term: 1, .put("k", bytes("other"))),
                entry(3, term: 1, .put("k", bytes("v"), requestID: id)),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 1)), .applied(KVResult(revision: 2)), .duplicate(KVResult(revision: 1)),
            ])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("other"), revision: 2, createRevision: 1, version: 2))
        }
    }

    @Test(arguments: [
        KVCommand.put("k", bytes("w"), requestID: ClientRequestID(clientID: 7, sequence: 1)),
        KVCommand.put("other", bytes("v"), requestID: ClientRequestID(clientID: 7, sequence: 1)),
        KVCommand.delete("k", requestID: ClientRequestID(clientID: 7, sequence: 1)),
        KVCommand.put("k", bytes("v!"), requestID: ClientRequestID(clientID: 7, sequence: 1)),
    ])
    func aReusedIdForAnotherRequestIsRefusedAndNothingApplied(_ different: KVCommand) async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let first = try await sm.apply([entry(1, term: 1, .put("k", bytes("v"), requestID: id))])
            #expect(first.map(\.outcome) == [.applied(KVResult(revision: 1))])
            let session = try sm.session(clientID: id.clientID)

            let reused = try await sm.apply([entry(2, term: 1, different)])
            #expect(reused.map(\.outcome) == [.requestMismatch])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("v"), revision: 1))
            #expect(try sm.get("other") == nil)
            #expect(try sm.session(clientID: id.clientID) == session, "the refused request leaves the session as it was")

            // The genuine retry still gets its answer.
            let retry = try await sm.apply([entry(3, term: 1, .put("k", bytes("v"), requestID: id))])
            #expect(retry.map(\.outcome) == [.duplicate(KVResult(revision: 1))])
        }
    }

    @Test func keyAndValueBoundariesArePartOfTheFingerprint() {
        #expect(RequestFingerprint(.put(key: "ab", value: bytes("c"))) != RequestFingerprint(.put(key: "a", value: bytes("bc"))))
        #expect(RequestFingerprint(.put(key: "k", value: [])) != RequestFingerprint(.delete(key: "k")))
        let long = [UInt8](repeating: 0x61, count: 1000)
        #expect(RequestFingerprint(.put(key: "k", value: long)) == RequestFingerprint(.put(key: "k", value: long)))
        #expect(RequestFingerprint(.put(key: "k", value: long)) != RequestFingerprint(.put(key: "k", value: long + [0])))
        // Fixed constants and byte order: the same on every replica, build and run.
        #expect(RequestFingerprint(.delete(key: "k")).value == RequestFingerprint(.delete(key: "k")).value)
    }

    @Test func aRetryAfterEvictionIsRefusedNotAppliedAgain() async throws {
        try await withStore(options: StoreOptions(sessionLimits: SessionLimits(results: 2, evicted: 10))) { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("k", bytes("v1"), requestID: ClientRequestID(clientID: 1, sequence: 1))),
                entry(2, term: 1, .put("k", bytes("v2"), requestID: ClientRequestID(clientID: 2, sequence: 1))),
                entry(3, term: 1, .put("k", bytes("v3"), requestID: ClientRequestID(clientID: 3, sequence: 1))),
            ])
            #expect(try sm.session(clientID: 1) == SessionRecord(sequence: 1, lastIndex: 1, result: nil))
            let late = try await sm.apply([
                entry(4, term: 1, .put("k", bytes("v1"), requestID: ClientRequestID(clientID: 1, sequence: 1))),
                // Even a different request under the evicted id is refused, never applied.
                entry(5, term: 1, .delete("k", requestID: ClientRequestID(clientID: 1, sequence: 1))),
            ])
            #expect(late.map(\.outcome) == [.resultEvicted, .resultEvicted])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("v3"), revision: 3, createRevision: 1, version: 3))
            // A numbered client (the library API) may go on with its next request.
            let next = try await sm.apply([entry(6, term: 1, .put("n", [], requestID: ClientRequestID(clientID: 1, sequence: 2)))])
            #expect(next.map(\.outcome) == [.applied(KVResult(revision: 6))])
            try expectCounts(sm, live: 2, evicted: 1)
        }
    }

    @Test func bothTiersStayWithinTheirLimitsAndKeepTheMostRecent() async throws {
        let limits = SessionLimits(results: 3, evicted: 4)
        try await withStore(options: StoreOptions(sessionLimits: limits)) { store, _ in
            let sm = store.stateMachine
            // Client 5 sends a newer request late (after its session was evicted), so it is
            // live again although it started early.
            let clients: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 10]
            _ = try await sm.apply(clients.enumerated().map { i, client in
                let index = UInt64(i + 1)
                return entry(index, term: 1, .put("k\(client)", [], requestID: ClientRequestID(clientID: client, sequence: index)))
            })
            try expectCounts(sm, live: 3, evicted: 4)
            let live = try (1...10).filter { try sm.session(clientID: $0)?.isEvicted == false }
            let evicted = try (1...10).filter { try sm.session(clientID: $0)?.isEvicted == true }
            #expect(live == [5, 9, 10])
            #expect(evicted == [4, 6, 7, 8])
            // Beyond both tiers a key is forgotten: that is the documented limit.
            #expect(try sm.session(clientID: 3) == nil)
        }
    }

    @Test func sessionsSurviveSnapshotInstallAndRestart() async throws {
        let limits = SessionLimits(results: 2, evicted: 2)
        let entries = (1...5).map { i in
            entry(UInt64(i), term: 1, .put("k\(i)", bytes("v\(i)"), requestID: ClientRequestID(clientID: UInt64(i), sequence: 1)))
        }
        try await withStore(options: StoreOptions(sessionLimits: limits)) { source, _ in
            try await source.log.persist(hardState: HardState(term: 1, commit: 5), entries: entries)
            _ = try await source.stateMachine.apply(entries)
            let metadata = try await source.createSnapshot()
            let chunk = try source.log.snapshotData(offset: 0, maxBytes: 1 << 20)
            #expect(chunk.isLast)
            try await withStore(options: StoreOptions(sessionLimits: limits)) { target, dir in
                try await target.persist(hardState: nil, entries: [],
                                         snapshotChunks: [SnapshotChunk(metadata: metadata, offset: 0, data: chunk.bytes, isLast: true)],
                                         installing: metadata)
                for clientID in UInt64(1)...5 {
                    #expect(try target.stateMachine.session(clientID: clientID) == source.stateMachine.session(clientID: clientID))
                }
                try expectCounts(target.stateMachine, live: 2, evicted: 2)
                try await expectRemembered(target.stateMachine, from: 6)
                target.close()
                let reopened = try DurableStore(directory: dir.path, options: StoreOptions(sessionLimits: limits))
                defer { reopened.close() }
                try expectCounts(reopened.stateMachine, live: 2, evicted: 2)
                try await expectRemembered(reopened.stateMachine, from: 9)
            }
        }
    }

    @Test func versionOneSessionRecordsAreStillRead() async throws {
        var old = ByteWriter()
        old.u8(1)
        old.u64(1)
        old.u64(9)
        old.u64(9)
        old.u8(1)
        let record = try SessionRecord(decoding: old.bytes)
        #expect(record == SessionRecord(sequence: 1, lastIndex: 9, result: KVResult(revision: 9, deleted: true)))
        #expect(try SessionRecord(decoding: record.encoded()) == record)
        let evicted = SessionRecord(sequence: 3, lastIndex: 4, result: nil)
        #expect(try SessionRecord(decoding: evicted.encoded()) == evicted)
        #expect(throws: KVStoreError.self) { try SessionRecord(decoding: [2, 0x80] + [UInt8](repeating: 0, count: 16)) }
        #expect(throws: KVStoreError.self) { try SessionRecord(decoding: [2, 1] + [UInt8](repeating: 0, count: 16)) }
    }
}

/// Counts the sessions in each tier straight from LMDB.
private func expectCounts(_ sm: KVStateMachine, live: Int, evicted: Int,
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
    let table = sm.sessionTable
    let counts = try sm.environment.read { txn throws(KVStoreError) in
        (try txn.count(table.age), try txn.count(table.evictedAge), try txn.count(table.sessions))
    }
    #expect(counts.0 == live, "live sessions", sourceLocation: sourceLocation)
    #expect(counts.1 == evicted, "evicted sessions", sourceLocation: sourceLocation)
    #expect(counts.2 == live + evicted, "session records", sourceLocation: sourceLocation)
}

/// After five requests (clients 1...5) under limits of 2 + 2: client 5 answers from its
/// result, client 3 is refused as evicted, a different request under 5 is refused, and one
/// new client still evicts in order. Entries start at `from`.
private func expectRemembered(_ sm: KVStateMachine, from index: UInt64,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let results = try await sm.apply([
        entry(index, term: 2, .put("k5", bytes("v5"), requestID: ClientRequestID(clientID: 5, sequence: 1))),
        entry(index + 1, term: 2, .put("k3", bytes("v3"), requestID: ClientRequestID(clientID: 3, sequence: 1))),
        entry(index + 2, term: 2, .put("k5", bytes("changed"), requestID: ClientRequestID(clientID: 5, sequence: 1))),
    ])
    #expect(results.map(\.outcome) == [.duplicate(KVResult(revision: 5)), .resultEvicted, .requestMismatch],
            sourceLocation: sourceLocation)
    #expect(try sm.get("k5")?.revision == 5, sourceLocation: sourceLocation)
    #expect(try sm.get("k3")?.revision == 3, sourceLocation: sourceLocation)
}
