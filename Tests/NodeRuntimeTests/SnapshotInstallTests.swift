import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct SnapshotInstall {
        /// The leader compacts its log after a few entries, so a member added later cannot
        /// be sent the log from the start: it must install a snapshot.
        @Test func aNewMemberCatchesUpFromASnapshot() async throws {
            var options = ClusterOptions()
            options.snapshotEveryEntries = 20
            options.entriesRetainedAfterSnapshot = 5
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(60, keysPrefixed: "compacted-", through: leader)
                try await eventually("the leader to compact its log") { () async throws -> Bool? in
                    try await cluster.leader().runtime.status().firstIndex > 1 ? true : nil
                }

                // The newcomer never snapshots on its own (its threshold is the default), so a
                // log that starts past index 1 can only come from an installed snapshot.
                let newcomer = try await cluster.addEmptyNode(NodeID("n4")) { $0.snapshotEveryEntries = 10_000 }
                let members = try await cluster.onLeader("the leader to admit n4") {
                    try await $0.runtime.join(id: newcomer.id, address: newcomer.address)
                }
                await newcomer.runtime.learnPeers(members)

                try await cluster.waitUntilEveryNode(has: "compacted-0", "value-0")
                try await cluster.waitUntilEveryNode(has: "compacted-59", "value-59")
                let status = await newcomer.runtime.status()
                #expect(status.firstIndex > 1)
                #expect(newcomer.store.log.snapshotMetadata().index > 0)
                // Snapshot data is the only batch LMDB commits with two syncs.
                #expect(newcomer.metrics.snapshot.durableCommits > 0)

                // Caught up from the snapshot, it is promoted and serves reads like any member.
                try await eventually("n4 to be promoted to voter") { () async throws -> Bool? in
                    let status = try await cluster.leader().runtime.status()
                    return status.members.first(where: { $0.id == newcomer.id })?.isVoter == true ? true : nil
                }
                _ = try await leader.runtime.submit(.put("after-install", Array("replicated".utf8)))
                try await newcomer.runtime.linearizableBarrier()
                #expect(try newcomer.localValue("after-install") == "replicated")
            }
        }
    }
}
