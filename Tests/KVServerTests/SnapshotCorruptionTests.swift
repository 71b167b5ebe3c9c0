import Foundation
import Testing

/// A leader whose snapshot file was damaged on disk must not send it (a follower would
/// install garbage or, before this was handled, crash): it takes a new snapshot and the
/// follower catches up from that one.
@Suite("Damaged snapshot")
struct SnapshotCorruptionTests {
    @Test("a node that needs a snapshot catches up although the leader's snapshot file was damaged")
    func nodeCatchesUpFromRebuiltSnapshot() async throws {
        // Snapshots are taken by the leader when a node needs one, so the test follows the
        // leader's file: 2-4 s election timeouts keep leadership where it is on a loaded machine.
        try await TestCluster.with(size: 3, arguments: ["--snapshot-entries", "20", "--history-revisions", "10",
                                                        "--election-ticks", "200"]) { cluster in
            let leader = try await cluster.leader()
            let lagging = try #require(cluster.followers(of: leader).first)
            #expect(try await lagging.terminate() == 0)

            for i in 0..<100 {
                try await leader.client.putAcknowledged(String(format: "sc-%03d", i), "v\(i)")
            }
            try await eventually("the leader to compact its log") { () -> Bool? in
                try await leader.client.status().firstIndex > 1 ? true : nil
            }
            // The log is compacted without a snapshot file; the restarted follower lacks the
            // compacted entries, so the leader takes one for it.
            try lagging.start()
            _ = try await eventually("the restarted follower to hold every key") { () -> Bool? in
                try await lagging.client.pairs(prefix: "sc-", stale: true).count == 100 ? true : nil
            }
            // Nothing more is written, so that file stays the one the leader would send next.
            let sender = try await cluster.leader()
            let snapshots = sender.dataDirectory.appendingPathComponent("snapshots")
            let file = try await eventually("the leader's snapshot file to settle") { () -> URL? in
                let names = try FileManager.default.contentsOfDirectory(atPath: snapshots.path).filter { $0.hasSuffix(".snap") }
                guard names.count == 1 else { return nil }
                try await Task.sleep(for: .milliseconds(200))
                let again = try FileManager.default.contentsOfDirectory(atPath: snapshots.path).filter { $0.hasSuffix(".snap") }
                return again == names ? snapshots.appendingPathComponent(names[0]) : nil
            }
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 2] ^= 0x5A
            try bytes.write(to: file)

            // A new node needs a snapshot too, and the leader finds its file damaged.
            let joiner = try cluster.startJoiner(id: "node4", via: lagging)
            let copied = try await eventually("node4 to hold every key") { () -> [String: String]? in
                let pairs = try await joiner.client.pairs(prefix: "sc-", stale: true)
                return pairs.count == 100 ? pairs : nil
            }
            #expect(copied["sc-000"] == "v0" && copied["sc-099"] == "v99")
            #expect(sender.logTail(lines: 10_000).contains("snapshot file is damaged"), "the leader noticed and rebuilt it")
            #expect(sender.isRunning && lagging.isRunning && joiner.isRunning)
        }
    }
}
