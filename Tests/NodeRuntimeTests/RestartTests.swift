import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct Restart {
        @Test func aRestartedFollowerKeepsItsDataAndCatchesUp() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(5, keysPrefixed: "before-", through: leader)
                let follower = try #require(try await cluster.followers().first)
                try await cluster.waitUntilEveryNode(has: "before-4", "value-4")

                try await cluster.crash(follower.id)
                let survivor = try await cluster.leader()
                try await cluster.write(5, keysPrefixed: "while-down-", through: survivor)

                let restarted = try await cluster.restart(follower.id)
                // Straight from its own disk, before it has heard from anyone.
                #expect(try restarted.localValue("before-4") == "value-4")
                try await cluster.waitUntilEveryNode(has: "while-down-4", "value-4")
                try await restarted.runtime.linearizableBarrier()
                for i in 0..<5 {
                    #expect(try restarted.localValue("before-\(i)") == "value-\(i)")
                    #expect(try restarted.localValue("while-down-\(i)") == "value-\(i)")
                }
            }
        }

        @Test func aFullClusterRestartKeepsEverything() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(20, keysPrefixed: "durable-", through: leader)
                _ = try await leader.runtime.submit(.delete("durable-0"))
                let committed = await leader.runtime.status().commitIndex

                for id in cluster.ids { try await cluster.crash(id) }
                for id in cluster.ids { try await cluster.restart(id) }

                let next = try await cluster.leader()
                #expect(await next.runtime.status().commitIndex >= committed)
                for node in cluster.runningNodes {
                    try await node.runtime.linearizableBarrier()
                    #expect(try node.localValue("durable-0") == nil)
                    for i in 1..<20 {
                        #expect(try node.localValue("durable-\(i)") == "value-\(i)", "\(node.id) durable-\(i)")
                    }
                }
                _ = try await next.runtime.submit(.put("after-restart", Array("ok".utf8)))
                try await cluster.waitUntilEveryNode(has: "after-restart", "ok")
            }
        }
    }
}
