import Foundation
import KVStore
import RaftCore
import Testing

/// Damaged snapshot files never leave a node and never stop one.
@Suite struct SnapshotDamageTests {
    private static func put(_ index: UInt64) -> Entry { entry(index, term: 1, .put("k\(index % 9)", bytes("v\(index)"))) }

    /// A store holding 40 applied entries and a snapshot of them.
    private static func snapshotted(_ store: DurableStore) async throws -> SnapshotMetadata {
        let log = (1...40).map(put)
        try await store.log.persist(hardState: HardState(term: 1, commit: 40), entries: log)
        _ = try await store.stateMachine.apply(log)
        return try await store.createSnapshot()
    }

    private static func snapshotFile(_ dir: TemporaryDirectory, _ metadata: SnapshotMetadata) -> String {
        "\(dir.path)/snapshots/snapshot-\(metadata.index)-\(metadata.term).snap"
    }

    private static func flipByte(in path: String, at offset: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[offset] ^= 0x5A
        try data.write(to: URL(fileURLWithPath: path))
    }

    private static func readAll(_ store: DurableStore) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let (chunk, isLast) = try store.log.snapshotData(offset: UInt64(bytes.count), maxBytes: 64)
            bytes += chunk
            if isLast { return bytes }
        }
    }

    @Test func aLeaderDoesNotSendADamagedSnapshotAndTakesItAgain() async throws {
        try await withStore { store, dir in
            let metadata = try await Self.snapshotted(store)
            let good = try Self.readAll(store)
            try Self.flipByte(in: Self.snapshotFile(dir, metadata), at: 40)

            // Not one byte of it is handed to RaftCore, and no snapshot is offered until rebuilt
            // (RaftCore would otherwise restart the transfer of the same file at once).
            #expect(throws: RaftStorageError.snapshotUnavailable) { try store.log.snapshotData(offset: 0, maxBytes: 64) }
            #expect(store.log.isSnapshotDamaged)
            #expect(store.log.snapshotMetadata() == .empty)
            #expect(store.log.storedSnapshot == metadata)

            // Nothing was applied since: the snapshot is taken again all the same.
            #expect(try await store.createSnapshot() == metadata)
            #expect(!store.log.isSnapshotDamaged)
            #expect(store.log.snapshotMetadata() == metadata)
            #expect(try Self.readAll(store) == good)
        }
    }

    @Test func aTruncatedOrMissingSnapshotFileIsDamagedToo() async throws {
        try await withStore { store, dir in
            let metadata = try await Self.snapshotted(store)
            #expect(truncate(Self.snapshotFile(dir, metadata), 20) == 0)
            #expect(throws: RaftStorageError.snapshotUnavailable) { try store.log.snapshotData(offset: 0, maxBytes: 64) }
            #expect(store.log.isSnapshotDamaged)
            try await store.createSnapshot()
            unlink(Self.snapshotFile(dir, metadata))
            #expect(throws: RaftStorageError.snapshotUnavailable) { try store.log.snapshotData(offset: 0, maxBytes: 64) }
            try await store.createSnapshot()
            #expect(try Self.readAll(store).count > 40)
        }
    }

    @Test func aFollowerDiscardsAReceivedSnapshotThatFailsAtInstall() async throws {
        try await withStore { source, _ in
            let metadata = try await Self.snapshotted(source)
            var stream = try Self.readAll(source)
            stream[stream.count / 2] ^= 0x01
            let chunks = stride(from: 0, to: stream.count, by: 100).map { start in
                SnapshotChunk(metadata: metadata, offset: UInt64(start), data: Array(stream[start..<min(start + 100, stream.count)]),
                              isLast: start + 100 >= stream.count)
            }
            try await withStore { target, _ in
                _ = try await target.stateMachine.apply([entry(1, term: 1, .put("mine", bytes("kept")))])
                try await target.persist(hardState: nil, entries: [], snapshotChunks: Array(chunks.dropLast()))
                #expect(target.stagedSnapshotBytes(for: metadata) > 0)
                // Whether the checksum or a record's decoding catches it first, it is a damaged
                // snapshot (which the runtime discards), never damaged storage (which stops it).
                let error = await #expect(throws: KVStoreError.self) {
                    try await target.persist(hardState: nil, entries: [], snapshotChunks: [chunks[chunks.count - 1]], installing: metadata)
                }
                guard case .snapshotInvalid = error else {
                    Issue.record("expected snapshotInvalid, got \(String(describing: error))")
                    return
                }
                // Discarded, so the leader's next transfer starts from offset 0; the old state stays.
                #expect(target.stagedSnapshotBytes(for: metadata) == 0)
                #expect(try target.stateMachine.get("mine")?.value == bytes("kept"))
                #expect(target.log.storedSnapshot == .empty)
            }
        }
    }

    @Test func everySingleFlippedByteIsCaughtAsADamagedSnapshot() async throws {
        try await withStore { source, _ in
            let metadata = try await Self.snapshotted(source)
            let stream = try Self.readAll(source)
            try await withStore { target, _ in
                for offset in stride(from: 0, to: stream.count, by: 7) {
                    var damaged = stream
                    damaged[offset] ^= 0x80
                    let chunk = SnapshotChunk(metadata: metadata, offset: 0, data: damaged, isLast: true)
                    do throws(KVStoreError) {
                        try await target.persist(hardState: nil, entries: [], snapshotChunks: [chunk], installing: metadata)
                        Issue.record("a flip at \(offset) was installed")
                    } catch .snapshotInvalid {
                    } catch {
                        Issue.record("a flip at \(offset) gave \(error), not snapshotInvalid")
                    }
                }
                #expect(target.log.storedSnapshot == .empty)
            }
        }
    }

    @Test func outOfReaderSlotsOrDescriptorsIsAnOverloadNotAFault() {
        #expect(KVStoreError.lmdb(operation: "txn_begin", code: -30790, message: "MDB_READERS_FULL").isResourceExhausted)
        #expect(KVStoreError.io(operation: "open", errno: EMFILE).isResourceExhausted)
        #expect(KVStoreError.io(operation: "open", errno: ENFILE).isResourceExhausted)
        #expect(!KVStoreError.io(operation: "open", errno: EIO).isResourceExhausted)
    }
}
