import RaftCore
import Testing

/// Snapshots sent in chunks to a follower behind the leader's first index, and installed from
/// a Ready (Snapshots.swift).
@Suite("Snapshots")
struct SnapshotTests {
    @Test("a completed snapshot is installed from its own chunks when a newer snapshot's first chunk arrives before the Ready")
    func completedSnapshotIsNotReplacedBeforeItsInstall() {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.stabilize()
        let term = cluster["n2"].currentTerm
        let conf = cluster["n2"].configuration
        let completed = SnapshotMetadata(index: 100, term: term, conf: conf)
        let newer = SnapshotMetadata(index: 200, term: term, conf: conf)
        cluster.with("n2") { node in
            // Both arrive while n2 hands out nothing (its previous Ready still out, say).
            node.step(Message(from: "n1", to: "n2", term: term,
                              body: .snapshot(SnapshotChunk(metadata: completed, offset: 0, data: [1, 2, 3], isLast: true))))
            node.step(Message(from: "n1", to: "n2", term: term,
                              body: .snapshot(SnapshotChunk(metadata: newer, offset: 0, data: [4], isLast: false))))
        }
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
        #expect(cluster.appliedIndex["n2"] == completed.index)
    }

    @Test("a follower behind the leader's first index receives the snapshot in chunks, then the later entries")
    func laggingFollowerGetsChunkedSnapshot() throws {
        let cluster = TestCluster(size: 3) { $0.snapshotChunkBytes = 4 }
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        for i in 0..<3 { _ = try cluster.propose("n1", payload("s\(i)")) }
        cluster.stabilize()
        let metadata = cluster["n1"].snapshotMetadataAtApplied
        #expect(metadata.index == 7)
        let state: [UInt8] = Array(0..<10)
        cluster.storages["n1"]!.createSnapshot(metadata, data: state)
        for i in 0..<2 { _ = try cluster.propose("n1", payload("after\(i)")) }
        cluster.stabilize()
        #expect(cluster["n1"].status.firstIndex == 8)

        cluster.heal()
        cluster.run(ticks: 6)
        let toN3 = cluster.sent(from: "n1", to: "n3")
        let chunks = toN3.compactMap(\.body.snapshotChunk)
        #expect(chunks.map(\.offset) == [0, 4, 8])
        #expect(chunks.map(\.data.count) == [4, 4, 2])
        #expect(chunks.map(\.isLast) == [false, false, true])
        #expect(chunks.allSatisfy { $0.metadata == metadata })
        let lastChunk = try #require(toN3.lastIndex { $0.body.snapshotChunk != nil })
        let entriesAfter = toN3[lastChunk...].compactMap(\.body.appendRequest).flatMap(\.entries).map(\.index)
        #expect(entriesAfter.contains(8) && entriesAfter.contains(9))

        let storage = cluster.storages["n3"]!
        #expect(storage.snapshotMetadata() == metadata)
        #expect(try storage.snapshotData(offset: 0, maxBytes: 100).bytes == state)
        #expect(cluster.log(of: "n3") == cluster.log(of: "n1"))
        #expect(cluster["n3"].commitIndex == cluster["n1"].commitIndex)
        #expect(cluster.applied["n3"]!.map(\.index) == [8, 9], "after installing, only the later entries are applied")
        #expect(cluster.readies["n3"]!.contains { $0.snapshotToInstall == metadata })
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }
}
