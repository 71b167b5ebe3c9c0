import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct Membership {
        @Test func aJoinedLearnerCatchesUpIsPromotedAndCanBeRemoved() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(10, keysPrefixed: "early-", through: leader)

                let newcomer = try await cluster.addEmptyNode(NodeID("n4"))
                let members = try await cluster.onLeader("the leader to admit n4") {
                    try await $0.runtime.join(id: newcomer.id, address: newcomer.address)
                }
                #expect(members.map(\.id).contains(newcomer.id))
                await newcomer.runtime.learnPeers(members)

                try await cluster.waitUntilEveryNode(has: "early-9", "value-9")
                try await eventually("n4 to be promoted to voter") { () async throws -> Bool? in
                    let status = try await cluster.leader().runtime.status()
                    guard status.members.first(where: { $0.id == newcomer.id })?.isVoter == true else { return nil }
                    return true
                }
                let own = await newcomer.runtime.status()
                #expect(own.isMember)
                #expect(own.members.count == 4)
                // The new member takes writes like any other.
                _ = try await newcomer.runtime.submit(.put("from-n4", Array("hello".utf8)))
                try await cluster.waitUntilEveryNode(has: "from-n4", "hello")

                try await Self.remove(newcomer.id, from: cluster)
                try await cluster.crash(newcomer.id)

                // Removing a follower shrinks the configuration to two voters, which still
                // make a quorum.
                let follower = try #require(try await cluster.followers().first)
                try await Self.remove(follower.id, from: cluster)
                try await cluster.crash(follower.id)
                let survivor = try await cluster.leader()
                #expect(await survivor.runtime.status().members.count == 2)
                for node in cluster.runningNodes {
                    _ = try await node.runtime.submit(.put("after-\(node.id)", Array("two voters".utf8)))
                }
                try await cluster.waitUntilEveryNode(has: "after-\(survivor.id)", "two voters")
            }
        }

        /// Docs/API.md: a learner is promoted "when it has caught up". A lag allowance alone
        /// (`promotionLag`, 16 entries) would vouch for a learner that never answered while
        /// the log is shorter than the lag: a lone voter that admitted an unreachable member
        /// would then have two voters, one dead, and could commit nothing more, not even the
        /// removal that would fix it. RaftCore's `isCaughtUp` requires an answer.
        @Test func aLearnerThatNeverAnsweredIsNotPromoted() async throws {
            var options = ClusterOptions()
            options.requestTimeoutMilliseconds = 1_000
            try await withRuntimeCluster(voters: 1, options: options) { cluster in
                let leader = try await cluster.leader()
                // Nothing listens on port 1: the learner never answers.
                let ghost = MemberAddress(raft: HostPort(host: "127.0.0.1", port: 1), api: HostPort(host: "127.0.0.1", port: 2))
                _ = try await leader.runtime.join(id: NodeID("ghost"), address: ghost)
                // A learner never counts toward a quorum: the lone voter commits on its own.
                for i in 0..<3 {
                    _ = try await leader.runtime.submit(.put("after-join-\(i)", Array("committed".utf8)))
                }
                let status = await leader.runtime.status()
                #expect(status.members.first { $0.id == NodeID("ghost") }?.isVoter == false)
            }
        }

        /// Removes `id` through the leader and waits until the leader's configuration has it
        /// no more. A retry after a removal that was applied but not answered in time finds
        /// no such member, which is success too.
        static func remove(_ id: NodeID, from cluster: RuntimeCluster) async throws {
            let before = try await cluster.leader().runtime.status().members.count
            try await cluster.onLeader("the leader to remove \(id)") { leader in
                do {
                    try await leader.runtime.remove(id: id)
                } catch RuntimeError.notFound {
                    // Already gone.
                }
            }
            try await eventually("\(id) to leave the configuration") { () async throws -> Bool? in
                let status = try await cluster.leader().runtime.status()
                guard !status.members.contains(where: { $0.id == id }) else { return nil }
                #expect(status.members.count == before - 1)
                return true
            }
        }
    }
}
