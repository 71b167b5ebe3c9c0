import Foundation
import Testing

/// A leader whose snapshot file was damaged on disk must not send it (a follower would
/// install garbage or, before this was handled, crash): it takes a new snapshot and the
/// follower catches up from that one.
@Suite("Damaged snapshot")
struct SnapshotCorruptionTests {
    @Test("a follower that needs a snapshot catches up although the leader's snapshot file was damaged")
    func followerCatchesUpFromRebuiltSnapshot() async throws {
        try await TestCluster.with(size: 3, arguments: ["--snapshot-entries", "20"]) { cluster in
            let leader = try await cluster.leader()
            let lagging = try #require(cluster.followers(of: leader).first)
            #expect(try await lagging.terminate() == 0)

            for i in 0..<100 {
                try await leader.client.putAcknowledged(String(format: "sc-%03d", i), "v\(i)")
            }
            // The leader compacted past what the stopped follower holds, and its snapshot
            // stays put (nothing more is written).
            let snapshots = leader.dataDirectory.appendingPathComponent("snapshots")
            let file = try await eventually("the leader's snapshot to settle") { () -> URL? in
                let status = try await leader.client.status()
                guard status.firstIndex > 1, status.appliedIndex == status.commitIndex else { return nil }
                let names = try FileManager.default.contentsOfDirectory(atPath: snapshots.path).filter { $0.hasSuffix(".snap") }
                guard names.count == 1 else { return nil }
                try await Task.sleep(for: .milliseconds(200))
                let again = try FileManager.default.contentsOfDirectory(atPath: snapshots.path).filter { $0.hasSuffix(".snap") }
                return again == names ? snapshots.appendingPathComponent(names[0]) : nil
            }
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 2] ^= 0x5A
            try bytes.write(to: file)

            try lagging.start()
            let copied = try await eventually("the restarted follower to hold every key") { () -> [String: String]? in
                let pairs = try await lagging.client.pairs(prefix: "sc-", stale: true)
                return pairs.count == 100 ? pairs : nil
            }
            #expect(copied["sc-000"] == "v0" && copied["sc-099"] == "v99")
            #expect(leader.logTail(lines: 10_000).contains("snapshot file is damaged"), "the leader noticed and rebuilt it")
            #expect(leader.isRunning && lagging.isRunning)
        }
    }
}
