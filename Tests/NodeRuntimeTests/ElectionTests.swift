import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct Election {
        @Test func threeNodesElectExactlyOneLeader() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                // Every view sampled on the way: a term never has two leaders.
                var leadersByTerm: [UInt64: Set<NodeID>] = [:]
                let leader = try await eventually("all three to follow one leader") { () async throws -> NodeID? in
                    var views: [ClusterStatus] = []
                    for node in cluster.runningNodes { views.append(await node.runtime.status()) }
                    for view in views where view.role == .leader { leadersByTerm[view.term, default: []].insert(view.id) }
                    let leaders = views.filter { $0.role == .leader }
                    guard leaders.count == 1, let only = leaders.first,
                          views.allSatisfy({ $0.leader == only.id && $0.term == only.term }) else { return nil }
                    return only.id
                }
                #expect(leadersByTerm.values.allSatisfy { $0.count == 1 }, "\(leadersByTerm)")

                let status = try await cluster[leader].runtime.status()
                #expect(status.members.map(\.id) == [NodeID("n1"), NodeID("n2"), NodeID("n3")])
                #expect(status.members.allSatisfy { $0.isVoter })
                for node in cluster.runningNodes {
                    #expect(await node.runtime.isLeader == (node.id == leader))
                }
            }
        }

        @Test func aCrashedLeaderIsReplacedByOneThatServesWrites() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let old = try await cluster.leader()
                let before = await old.runtime.status().term
                _ = try await old.runtime.submit(.put("before", Array("crash".utf8)))

                try await cluster.crash(old.id)
                let new = try await cluster.leader()
                #expect(new.id != old.id)
                #expect(await new.runtime.status().term > before)

                // Both survivors take writes: the new leader directly, the other by forwarding.
                for node in cluster.runningNodes {
                    let key = "after-\(node.id)"
                    _ = try await node.runtime.submit(.put(key, Array("served".utf8)))
                    try await cluster.waitUntilEveryNode(has: key, "served")
                }
                try await cluster.waitUntilEveryNode(has: "before", "crash")
            }
        }
    }
}
