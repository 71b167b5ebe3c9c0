import Foundation
@testable import KVStore
import RaftCore
import Testing

/// Backups (`DurableStore.writeBackup`), reading them (`SnapshotSummary`, `BackupKeyReader`)
/// and seeding a new cluster's data directory from one (`DurableStore.restore`).
@Suite("Backup and restore")
struct BackupRestoreTests {
    /// n1 and n2 join, a lease is granted at 3, then puts (one on the lease) and a delete.
    static func log() -> [Entry] {
        [configEntry(1, term: 1, ConfChange(kind: .addVoter, node: "n1", context: bytes("a1"))),
         configEntry(2, term: 1, ConfChange(kind: .addVoter, node: "n2", context: bytes("a2"))),
         entry(3, term: 2, KVCommand(.leaseGrant(ttlSeconds: 60)))]
            + (4...40).map { entry($0, term: 2, .put("app/k\($0 % 7)", bytes("v\($0)"))) }
            + [entry(41, term: 3, KVCommand(.txn(TxnRequest(success: [.put(key: "leased", value: bytes("x"), lease: 3)])))),
               entry(42, term: 3, .put("other", bytes("o"))),
               entry(43, term: 3, .delete("app/k0"))]
    }

    static func filled(_ store: DurableStore) async throws {
        let entries = Self.log()
        try await store.log.persist(hardState: HardState(term: 3, commit: 43), entries: entries)
        _ = try await store.stateMachine.apply(entries)
    }

    @Test("a backup holds the applied state at one revision, and its summary counts it")
    func backupSummary() async throws {
        try await withStore { store, dir in
            try await Self.filled(store)
            let path = store.backupPath("test")
            let position = try await store.writeBackup(to: path)
            #expect(position == LogPosition(index: 43, term: 3))
            let summary = try SnapshotSummary.read(path: path)
            #expect(summary.revision == 43)
            #expect(summary.term == 3)
            #expect(summary.keys == 8, "app/k1...k6, leased, other")
            #expect(summary.historyEvents == 40, "37 puts, the txn's put, one more put, one delete")
            #expect(summary.leases == 1)
            #expect(summary.members == ["n1", "n2"])
            #expect(summary.bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64))
            #expect(store.log.storedSnapshot == .empty, "a backup is not the snapshot Raft serves")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/snapshots") == ["backup-test.tmp"])
        }
    }

    @Test("a damaged or truncated backup is refused by its summary")
    func damagedBackup() async throws {
        try await withStore { store, _ in
            try await Self.filled(store)
            let path = store.backupPath("damaged")
            _ = try await store.writeBackup(to: path)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: KVStoreError.self) { try SnapshotSummary.read(path: path) }
            try Data(bytes.prefix(bytes.count - 5)).write(to: URL(fileURLWithPath: path))
            #expect(throws: KVStoreError.self) { try SnapshotSummary.read(path: path) }
        }
    }

    @Test("the key reader pages a prefix in byte order and stops at its end")
    func keyReaderPages() async throws {
        try await withStore { store, _ in
            try await Self.filled(store)
            let path = store.backupPath("keys")
            _ = try await store.writeBackup(to: path)
            var reader = try BackupKeyReader(path: path, prefix: "app/")
            var keys: [String] = []
            while true {
                let page = try reader.nextPage(maxBytes: 1)
                if page.isEmpty { break }
                #expect(page.count == 1, "a page ends once it holds 1 byte, but always holds one record")
                keys += page.map(\.key)
            }
            #expect(keys == (1...6).map { "app/k\($0)" })
            var all = try BackupKeyReader(path: path, prefix: "")
            let everything = try all.nextPage(maxBytes: 1 << 20)
            #expect(everything.map(\.key) == (1...6).map { "app/k\($0)" } + ["leased", "other"])
            #expect(everything.first { $0.key == "leased" }?.lease == 3)
            #expect(try all.nextPage(maxBytes: 1 << 20).isEmpty)
        }
    }

    @Test("a restore seeds an empty directory with every key, revision, lease and event, under the new members")
    func restoreSeedsANewCluster() async throws {
        try await withStore { store, dir in
            try await Self.filled(store)
            let backup = store.backupPath("restore")
            _ = try await store.writeBackup(to: backup)
            let target = dir.path + "-restored"
            defer { try? FileManager.default.removeItem(atPath: target) }
            let members = [MemberRecord(id: "m1", isVoter: true, context: bytes("b1")),
                           MemberRecord(id: "m2", isVoter: true, context: bytes("b2")),
                           MemberRecord(id: "m3", isVoter: true, context: bytes("b3"))]
            let summary = try await DurableStore.restore(backup: backup, into: target, members: members)
            #expect(summary.revision == 43)

            let restored = try DurableStore(directory: target)
            defer { restored.close() }
            #expect(restored.hasRaftState, "the members start without --bootstrap")
            let (hardState, snapshot) = restored.log.initialState()
            #expect(snapshot == SnapshotMetadata(index: 43, term: 3, conf: ConfState(voters: ["m1", "m2", "m3"])))
            #expect(hardState.term == 3 && hardState.commit == 43)
            #expect(restored.log.firstIndex() == 44, "the log starts after the backup: revisions continue from it")
            #expect(try restored.stateMachine.members().map(\.id) == ["m1", "m2", "m3"])
            for key in (1...6).map({ "app/k\($0)" }) + ["leased", "other"] {
                #expect(try restored.stateMachine.get(key) == (try store.stateMachine.get(key)), "\(key)")
            }
            #expect(try restored.stateMachine.get("app/k0") == nil)
            #expect(try restored.stateMachine.leases().map(\.id) == [3])
            #expect(try restored.stateMachine.events(after: 0, limit: 100) == (try store.stateMachine.events(after: 0, limit: 100)))
            #expect(try restored.stateMachine.appliedPosition() == LogPosition(index: 43, term: 3))
        }
    }

    @Test("a restore refuses a directory that holds anything, and a damaged file before it creates one")
    func restoreRefusals() async throws {
        try await withStore { store, dir in
            try await Self.filled(store)
            let backup = store.backupPath("refusals")
            _ = try await store.writeBackup(to: backup)
            let member = [MemberRecord(id: "m1", isVoter: true, context: bytes("b1"))]
            await #expect(throws: RestoreRefusal.self) {
                _ = try await DurableStore.restore(backup: backup, into: dir.path, members: member)
            }
            await #expect(throws: RestoreRefusal.self) {
                _ = try await DurableStore.restore(backup: backup, into: dir.path + "-none", members: [])
            }
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: backup))
            let target = dir.path + "-damaged"
            await #expect(throws: KVStoreError.self) {
                _ = try await DurableStore.restore(backup: backup, into: target, members: member)
            }
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    @Test("a file whose keys are out of order, or repeat one, is refused as a damaged snapshot")
    func keysOutOfOrderAreRefused() async throws {
        try await withStore { store, dir in
            try await Self.filled(store)
            let backup = store.backupPath("ordered")
            let position = try await store.writeBackup(to: backup)
            var records: [SnapshotRecord] = []
            var reader = SnapshotReader(file: try File(path: backup, flags: O_RDONLY))
            _ = try reader.readAll { records.append($0) }
            let keys = records.indices.filter { if case .key = records[$0] { true } else { false } }
            for (name, change) in [("swapped", { (r: inout [SnapshotRecord]) in r.swapAt(keys[0], keys[1]) }),
                                   ("repeated", { (r: inout [SnapshotRecord]) in r.insert(r[keys[0]], at: keys[0]) })] {
                var changed = records
                change(&changed)
                let path = dir.path + "/" + name + ".snap"
                var writer = try SnapshotWriter(file: try File(path: path, flags: O_RDWR | O_CREAT), applied: position)
                for record in changed { try writer.write(record) }
                try writer.finish()
                let target = dir.path + "-" + name
                defer { try? FileManager.default.removeItem(atPath: target) }
                let member = [MemberRecord(id: "m1", isVoter: true, context: bytes("b1"))]
                await #expect(throws: KVStoreError.snapshotInvalid("records out of key order, or a key given twice"), "\(name)") {
                    _ = try await DurableStore.restore(backup: path, into: target, members: member)
                }
            }
        }
    }
}
