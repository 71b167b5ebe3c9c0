import KVStore
import RaftCore
import Testing

/// A deterministic mix of puts, deletes, client requests and one membership change.
private func workload(_ index: UInt64) -> Entry {
    if index == 1 { return configEntry(1, term: 1, ConfChange(kind: .addVoter, node: "n1", context: bytes("r1@a1"))) }
    let key = "k\(index % 50)"
    let requestID = index % 3 == 0 ? ClientRequestID(clientID: index % 7, sequence: index) : nil
    if index % 13 == 0 { return entry(index, term: 1 + index / 100, .delete(key, requestID: requestID)) }
    return entry(index, term: 1 + index / 100, .put(key, bytes("v\(index)"), requestID: requestID))
}

private struct StateDump: Equatable {
    var pairs: [KVRecord]
    var sessions: [SessionRecord?]
    var members: [MemberRecord]
    var applied: LogPosition

    init(_ sm: KVStateMachine) throws {
        pairs = try sm.list()
        sessions = try (0..<7).map { try sm.session(clientID: $0) }
        members = try sm.members()
        applied = try sm.appliedPosition()
    }
}

/// Reads the store's current snapshot the way a leader sends it: chunk by chunk.
private func chunks(of store: DurableStore, size: Int) throws -> [SnapshotChunk] {
    let metadata = store.log.snapshotMetadata()
    var result: [SnapshotChunk] = []
    var offset: UInt64 = 0
    while true {
        let (data, isLast) = try store.log.snapshotData(offset: offset, maxBytes: size)
        result.append(SnapshotChunk(metadata: metadata, offset: offset, data: data, isLast: isLast))
        offset += UInt64(data.count)
        if isLast { return result }
    }
}

@Suite struct SnapshotTests {
    @Test func snapshotTakenDuringWritesRestoresExactlyItsIndex() async throws {
        try await withStore { source, _ in
            try await source.log.persist(hardState: HardState(term: 7, commit: 600), entries: (1...600).map(workload))
            _ = try await source.stateMachine.apply((1...200).map(workload))
            let writer = Task {
                for start in stride(from: UInt64(201), through: 600, by: 10) {
                    _ = try await source.stateMachine.apply((start..<start + 10).map(workload))
                }
            }
            let metadata = try await source.createSnapshot()
            try await writer.value
            #expect(metadata.index >= 200 && metadata.index <= 600)
            #expect(metadata.conf == ConfState(voters: ["n1"]))
            #expect(source.log.snapshotMetadata() == metadata)

            // The state at exactly `metadata.index`, computed by applying the log that far.
            let expected = try await withStore { model, _ in
                _ = try await model.stateMachine.apply((1...metadata.index).map(workload))
                return try StateDump(model.stateMachine)
            }

            #expect(source.log.firstIndex() == metadata.index + 1)
            let sent = try chunks(of: source, size: 97)
            #expect(sent.count > 2)
            try await withStore { target, _ in
                // Some unrelated state first: the install must replace it wholesale.
                _ = try await target.stateMachine.apply([entry(1, term: 1, .put("stale", []))])
                try await target.persist(hardState: nil, entries: [], snapshotChunks: Array(sent.prefix(2)))
                #expect(target.stagedSnapshotBytes(for: metadata) == UInt64(sent[0].data.count + sent[1].data.count))
                try await target.persist(hardState: nil, entries: [], snapshotChunks: Array(sent.dropFirst(2)), installing: metadata)
                #expect(try StateDump(target.stateMachine) == expected)
                #expect(target.log.snapshotMetadata() == metadata)
                #expect(target.log.firstIndex() == metadata.index + 1)
                #expect(target.log.lastIndex() == metadata.index)
                #expect(try target.log.term(at: metadata.index) == metadata.term)
                #expect(target.log.initialState().hardState.commit == metadata.index)
                // The installed snapshot is what this node now serves onwards.
                #expect(try chunks(of: target, size: 1 << 20).flatMap(\.data) == sent.flatMap(\.data))
            }
        }
    }

    @Test func aDamagedSnapshotIsRefusedAndTheOldStateKept() async throws {
        try await withStore { source, _ in
            let log = (1...40).map(workload)
            try await source.log.persist(hardState: HardState(term: 1, commit: 40), entries: log)
            _ = try await source.stateMachine.apply(log)
            let metadata = try await source.createSnapshot()
            #expect(source.log.firstIndex() == 41)
            var sent = try chunks(of: source, size: 256)
            sent[1].data[10] ^= 0xFF

            try await withStore { target, _ in
                _ = try await target.stateMachine.apply([entry(1, term: 1, .put("mine", bytes("kept")))])
                let before = try StateDump(target.stateMachine)
                // Caught by the checksum, or earlier by a length the flip made impossible.
                let error = await #expect(throws: KVStoreError.self) {
                    try await target.persist(hardState: nil, entries: [], snapshotChunks: sent, installing: metadata)
                }
                if case .snapshotInvalid = error {} else { Issue.record("expected snapshotInvalid, got \(String(describing: error))") }
                #expect(try StateDump(target.stateMachine) == before)
                #expect(target.log.snapshotMetadata() == .empty)
                // A chunk that would leave a hole in the staged file is refused too.
                await #expect(throws: KVStoreError.self) {
                    try await target.persist(hardState: nil, entries: [], snapshotChunks: [SnapshotChunk(metadata: metadata, offset: 1 << 20, data: [1], isLast: true)])
                }
            }
        }
    }

    @Test func retainedEntriesStayBehindTheSnapshot() async throws {
        try await withStore { store, _ in
            let log = (1...30).map(workload)
            try await store.log.persist(hardState: HardState(term: 1, commit: 30), entries: log)
            _ = try await store.stateMachine.apply(Array(log.prefix(25)))
            let metadata = try await store.createSnapshot(retainEntries: 10)
            #expect(metadata.index == 25)
            #expect(store.log.firstIndex() == 16)
            #expect(store.log.lastIndex() == 30)
            // Nothing new was applied: a second call keeps the existing snapshot.
            #expect(try await store.createSnapshot() == metadata)
        }
    }
}
