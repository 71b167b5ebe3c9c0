import KVStore
import RaftCore
import Testing

@Suite struct StateMachineTests {
    @Test func putAndDeleteCarryTheEntryIndexAsRevision() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let results = try await sm.apply([
                Entry(term: 1, index: 1),
                entry(2, term: 1, .put("a", bytes("one"))),
                entry(3, term: 1, .put("b", bytes("two"))),
                entry(4, term: 2, .put("a", bytes("three"))),
                entry(5, term: 2, .delete("b")),
                entry(6, term: 2, .delete("missing")),
            ])
            #expect(results.map(\.outcome) == [
                .noop,
                .applied(KVResult(revision: 2)),
                .applied(KVResult(revision: 3)),
                .applied(KVResult(revision: 4)),
                .applied(KVResult(revision: 5, deleted: true)),
                .applied(KVResult(revision: 6, deleted: false)),
            ])
            #expect(try sm.get("a") == KVRecord(key: "a", value: bytes("three"), revision: 4, createRevision: 2, version: 2))
            #expect(try sm.get("b") == nil)
            #expect(try sm.appliedPosition() == LogPosition(index: 6, term: 2))
        }
    }

    @Test func replayedEntriesAreSkippedAndGapsRefused() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([entry(1, term: 1, .put("k", bytes("v1"))), entry(2, term: 1, .put("k", bytes("v2")))])
            let replay = try await sm.apply([entry(1, term: 1, .put("k", bytes("v1"))), entry(2, term: 1, .put("k", bytes("v2"))), entry(3, term: 1, .put("x", []))])
            #expect(replay.map(\.outcome) == [.alreadyApplied, .alreadyApplied, .applied(KVResult(revision: 3))])
            #expect(try sm.get("k")?.revision == 2)
            await #expect(throws: KVStoreError.outOfOrder(expected: 4, got: 5)) {
                try await sm.apply([entry(5, term: 1, .put("y", []))])
            }
            #expect(try sm.appliedPosition().index == 3)
        }
    }

    @Test func duplicateClientRequestIsAppliedOnce() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let first = ClientRequestID(clientID: 42, sequence: 1)
            let results = try await sm.apply([
                entry(1, term: 1, .put("counter", bytes("1"), requestID: first)),
                entry(2, term: 1, .put("other", bytes("x"))),
                // The client timed out and retried; the retry was committed again.
                entry(3, term: 1, .put("counter", bytes("1"), requestID: first)),
                entry(4, term: 1, .delete("counter", requestID: ClientRequestID(clientID: 42, sequence: 2))),
                entry(5, term: 1, .put("counter", bytes("late"), requestID: first)),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 1)),
                .applied(KVResult(revision: 2)),
                .duplicate(KVResult(revision: 1)),
                .applied(KVResult(revision: 4, deleted: true)),
                .staleRequest,
            ])
            #expect(try sm.get("counter") == nil)
            #expect(try sm.session(clientID: 42)?.sequence == 2)
        }
    }

    @Test func sessionRetentionEvictsTheLongestIdle() async throws {
        try await withStore(options: StoreOptions(sessionLimits: SessionLimits(results: 3))) { store, _ in
            let sm = store.stateMachine
            let clients: [UInt64] = [1, 2, 3, 1, 4]
            let entries = clients.enumerated().map { i, client in
                entry(UInt64(i + 1), term: 1, .put("k\(client)", [], requestID: ClientRequestID(clientID: client, sequence: UInt64(i + 1))))
            }
            _ = try await sm.apply(entries)
            // Client 1 was used at index 4, so client 2 (last used at 2) is the one evicted:
            // its answer is forgotten, its request id is still known.
            #expect(try sm.session(clientID: 2) == SessionRecord(sequence: 2, lastIndex: 2, result: nil))
            #expect(try sm.session(clientID: 1)?.lastIndex == 4)
            #expect(try sm.session(clientID: 3)?.isEvicted == false)
            #expect(try sm.session(clientID: 4)?.isEvicted == false)
        }
    }

    @Test func membershipChangesKeepTheirContexts() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let results = try await sm.apply([
                configEntry(1, term: 1, ConfChange(kind: .addVoter, node: "n1", context: bytes("raft1@api1"))),
                configEntry(2, term: 1, ConfChange(kind: .addLearner, node: "n2", context: bytes("raft2@api2"))),
                configEntry(3, term: 1, ConfChange(kind: .addLearner, node: "n3", context: bytes("raft3@api3"))),
                configEntry(4, term: 1, ConfChange(kind: .addVoter, node: "n2")),
                configEntry(5, term: 1, ConfChange(kind: .remove, node: "n3")),
                Entry(term: 1, index: 6, kind: .configChange, data: [9, 9]),
            ])
            #expect(results[4].outcome == .membership(ConfChange(kind: .remove, node: "n3")))
            #expect(results[5].outcome == .rejected(.invalidCommand("malformed configuration change")))
            #expect(try sm.members() == [
                MemberRecord(id: "n1", isVoter: true, context: bytes("raft1@api1")),
                MemberRecord(id: "n2", isVoter: true, context: bytes("raft2@api2")),
            ])
            #expect(try sm.confState() == ConfState(voters: ["n1", "n2"]))
            #expect(try sm.appliedPosition().index == 6)
        }
    }

    @Test func listPagesByPrefixAndStartAfter() async throws {
        try await withStore { store, _ in
            let keys = ["a", "app/1", "app/2", "app/3", "b"]
            _ = try await store.stateMachine.apply(keys.enumerated().map { entry(UInt64($0 + 1), term: 1, .put($1, bytes($1))) })
            let sm = store.stateMachine
            #expect(try sm.list().map(\.key) == keys)
            #expect(try sm.list(prefix: "app/").map(\.key) == ["app/1", "app/2", "app/3"])
            #expect(try sm.list(prefix: "app/", startAfter: "app/1", limit: 1).map(\.key) == ["app/2"])
            #expect(try sm.list(startAfter: "app/3").map(\.key) == ["b"])
        }
    }
}

@Suite struct KeyLimitTests {
    @Test func oversizedKeysAreTypedErrors() async throws {
        let big = String(repeating: "k", count: KVCommand.maxKeySize + 1)
        #expect(throws: KVStoreError.keyTooLarge(size: 512, limit: 511)) { try KVCommand.validate(key: big) }
        #expect(throws: KVStoreError.invalidKey("the key is empty")) { try KVCommand.put("", []).validate() }
        try KVCommand.validate(key: String(repeating: "k", count: KVCommand.maxKeySize))
        try await withStore { store, _ in
            #expect(store.maxKeySize == KVCommand.maxKeySize)
            #expect(throws: KVStoreError.keyTooLarge(size: 512, limit: 511)) { try store.stateMachine.get(big) }
            // An entry that bypassed validation is rejected the same way on every replica.
            let results = try await store.stateMachine.apply([entry(1, term: 1, .put(big, [1])), entry(2, term: 1, .put("ok", [2]))])
            #expect(results[0].outcome == .rejected(.keyTooLarge(size: 512, limit: 511)))
            #expect(try store.stateMachine.list().map(\.key) == ["ok"])
        }
    }

    @Test func commandsRoundTripAndGarbageIsTyped() throws {
        let commands: [KVCommand] = [
            .put("key", bytes("value"), requestID: ClientRequestID(clientID: .max, sequence: 7)),
            .put("ключ", []),
            .delete("gone"),
        ]
        for command in commands { #expect(try KVCommand(decoding: command.encoded()) == command) }
        #expect(throws: KVStoreError.self) { try KVCommand(decoding: [1, 9, 0, 0, 0]) }
        #expect(throws: KVStoreError.self) { try KVCommand(decoding: Array(KVCommand.delete("gone").encoded().dropLast())) }
    }
}
