import RaftCore
import Testing
@testable import KVStore

/// Snapshot version 2 carries history, leases, their keys and the compact revision; a
/// version 1 snapshot (keys with a revision only) still installs.
@Suite struct HistorySnapshotTests {
    /// Everything a follower must serve alike after installing a snapshot.
    struct Coordination: Equatable {
        var keys: [KVRecord]
        var events: [KVEvent]
        var compactRevision: UInt64
        var leases: [LeaseRecord]
        var leaseKeys: [UInt64: [String]]
        var revision: UInt64

        init(_ sm: KVStateMachine) throws {
            keys = try sm.list()
            compactRevision = try sm.compactRevision()
            events = try sm.events(after: compactRevision, limit: .max)
            leases = try sm.leases()
            leaseKeys = [:]
            for lease in leases { leaseKeys[lease.id] = try sm.leaseKeys(lease.id) }
            revision = sm.revision
        }
    }

    private static func install(_ bytes: [UInt8], _ metadata: SnapshotMetadata, into target: DurableStore) async throws {
        try await target.persist(hardState: nil, entries: [],
                                 snapshotChunks: [SnapshotChunk(metadata: metadata, offset: 0, data: bytes, isLast: true)],
                                 installing: metadata)
    }

    @Test func aRestoredFollowerServesTheSameHistoryAndLeases() async throws {
        let log: [Entry] = [
            entry(1, term: 1, KVCommand(.leaseGrant(ttlSeconds: 60))),
            entry(2, term: 1, KVCommand(.leaseGrant(ttlSeconds: 90))),
            entry(3, term: 1, KVCommand(.txn(TxnRequest(success: [
                .put(key: "svc/a", value: bytes("10.0.0.1"), lease: 1), .put(key: "svc/b", value: bytes("10.0.0.2"), lease: 1),
                .put(key: "lock", value: [], lease: 2),
            ])))),
            entry(4, term: 1, .put("config", bytes("v1"))),
            entry(5, term: 1, .put("config", bytes("v2"))),
            entry(6, term: 1, KVCommand(.compact(revision: 3))),
            entry(7, term: 1, .delete("svc/b")),
            entry(8, term: 1, KVCommand(.leaseKeepAlive(id: 2))),
            entry(9, term: 1, KVCommand(.leaseGrant(ttlSeconds: 5))),
            entry(10, term: 1, .put("config", bytes("v3"), requestID: ClientRequestID(clientID: 4, sequence: 1))),
        ]
        try await withStore { source, _ in
            try await source.log.persist(hardState: HardState(term: 1, commit: 10), entries: log)
            _ = try await source.stateMachine.apply(log)
            let expected = try Coordination(source.stateMachine)
            #expect(expected.compactRevision == 3)
            #expect(expected.events.map(\.revision) == [4, 5, 7, 10])
            #expect(expected.leaseKeys == [1: ["svc/a"], 2: ["lock"], 9: []])
            let metadata = try await source.createSnapshot()
            let chunk = try source.log.snapshotData(offset: 0, maxBytes: 1 << 20)
            #expect(chunk.isLast)
            #expect(UInt16(chunk.bytes[8]) | UInt16(chunk.bytes[9]) << 8 == 2, "written as version 2")

            try await withStore { target, dir in
                _ = try await target.stateMachine.apply([
                    entry(1, term: 1, KVCommand(.leaseGrant(ttlSeconds: 7))),
                    entry(2, term: 1, KVCommand(.txn(TxnRequest(success: [.put(key: "stale", value: [], lease: 1)])))),
                ])
                try await Self.install(chunk.bytes, metadata, into: target)
                #expect(try Coordination(target.stateMachine) == expected)
                #expect(try target.stateMachine.get("config", atRevision: 4) == source.stateMachine.get("config", atRevision: 4))
                #expect(throws: KVStoreError.compacted(compactRevision: 3)) { try target.stateMachine.events(after: 2, limit: 1) }

                // And both go on alike: a revocation through the rebuilt lease key list.
                let next = [entry(11, term: 1, KVCommand(.leaseRevoke(id: 1, expired: true))),
                            entry(12, term: 1, .put("config", bytes("v3"), requestID: ClientRequestID(clientID: 4, sequence: 1)))]
                let there = try await target.stateMachine.apply(next)
                let here = try await source.stateMachine.apply(next)
                #expect(there == here)
                #expect(there.last?.outcome == .duplicate(KVResult(revision: 10)))
                #expect(try Coordination(target.stateMachine) == Coordination(source.stateMachine))
                #expect(try target.stateMachine.events(after: 10, limit: 10).first?.expired == true)

                // A restart reads the same from disk.
                let afterRevoke = try Coordination(target.stateMachine)
                target.close()
                let reopened = try DurableStore(directory: dir.path)
                defer { reopened.close() }
                #expect(try Coordination(reopened.stateMachine) == afterRevoke)
            }
        }
    }

    @Test func aVersionOneSnapshotStillInstalls() async throws {
        // Written the way builds before history wrote it: version 1, `pair` records.
        var file = ByteWriter()
        file.raw(SnapshotFormat.magic)
        file.u16(1)
        file.u64(20)
        file.u64(3)
        let records: [SnapshotRecord] = [
            .pair(key: bytes("a"), revision: 5, value: bytes("alpha")),
            .pair(key: bytes("b"), revision: 17, value: []),
            .session(clientID: 8, record: SessionRecord(sequence: 2, lastIndex: 17, result: KVResult(revision: 17))),
            .member(MemberRecord(id: "n1", isVoter: true, context: bytes("r@a"))),
        ]
        for record in records { file.raw(record.encoded()) }
        var crc = CRC32()
        crc.update(file.bytes)
        file.u8(SnapshotFormat.trailerTag)
        file.u64(UInt64(records.count))
        file.u32(crc.value)
        let metadata = SnapshotMetadata(index: 20, term: 3, conf: ConfState(voters: ["n1"]))

        try await withStore { target, _ in
            try await Self.install(file.bytes, metadata, into: target)
            let sm = target.stateMachine
            #expect(try sm.list() == [KVRecord(key: "a", value: bytes("alpha"), revision: 5, createRevision: 5, version: 1),
                                      KVRecord(key: "b", value: [], revision: 17, createRevision: 17, version: 1)])
            #expect(try sm.session(clientID: 8)?.sequence == 2)
            #expect(try sm.appliedPosition() == LogPosition(index: 20, term: 3))
            #expect(sm.revision == 20)
            // Its history is unknown, so it counts as compacted up to the snapshot.
            #expect(try sm.compactRevision() == 20)
            #expect(throws: KVStoreError.compacted(compactRevision: 20)) { try sm.events(after: 0, limit: 10) }
            #expect(throws: KVStoreError.compacted(compactRevision: 20)) { try sm.get("a", atRevision: 10) }
            #expect(try sm.get("a", atRevision: 20)?.value == bytes("alpha"))
            #expect(try sm.leases().isEmpty)
            // Later writes build on the old records.
            _ = try await sm.apply([entry(21, term: 3, .put("a", bytes("again")))])
            #expect(try sm.get("a") == KVRecord(key: "a", value: bytes("again"), revision: 21, createRevision: 5, version: 2))
            #expect(try sm.events(after: 20, limit: 10).map(\.previous?.revision) == [5])
        }
    }

    @Test func versionOneKeyRecordsInTheKVDatabaseStillRead() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            var old = ByteWriter()
            old.u8(1)
            old.u64(3)
            old.raw(bytes("legacy"))
            _ = try await sm.apply((1...3).map { Entry(term: 1, index: $0) })
            let table = sm.kv
            let stored = old.bytes
            try await sm.environment.onWriteThread { () throws(KVStoreError) in
                try sm.environment.transact { txn throws(KVStoreError) in try txn.put(table, bytes("k"), stored) }
            }
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("legacy"), revision: 3, createRevision: 3, version: 1))
            _ = try await sm.apply([entry(4, term: 1, .put("k", bytes("new")))])
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("new"), revision: 4, createRevision: 3, version: 2))
            #expect(try sm.events(after: 0, limit: 10).first?.previous
                == KVRecord(key: "k", value: bytes("legacy"), revision: 3, createRevision: 3, version: 1))
        }
    }
}
