import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    /// `NodeRuntime.transferLeadership` (`POST /cluster/transfer-leader`).
    @Suite struct LeadershipTransfer {
        @Test func leadershipMovesToEachVoterInTurnAndWritesGoOn() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                var leader = try await cluster.leader()
                for target in cluster.ids where target != leader.id {
                    let before = await leader.runtime.status().term
                    let term = try await leader.runtime.transferLeadership(to: target)
                    #expect(term > before, "the target won an election of its own")
                    let next = try await cluster.leader()
                    #expect(next.id == target)
                    _ = try await next.runtime.submit(.put("after-\(target)", Array("led".utf8)))
                    leader = next
                }
                try await cluster.waitUntilEveryNode(has: "after-n3", "led")
                #expect(try await leader.runtime.transferLeadership(to: leader.id) == (await leader.runtime.status().term),
                        "asking for the current leader answers at once")
            }
        }

        @Test func aLearnerAnUnknownIdAndAFollowerAreRefused() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                // A learner that never answers stays a learner.
                let address = try #require(MemberAddress(parsing: "127.0.0.1:1@127.0.0.1:2"))
                _ = try await cluster.onLeader("the leader to admit n9") { try await $0.runtime.join(id: "n9", address: address) }
                let current = try await cluster.leader()
                await #expect(throws: RuntimeError.conflict("n9 is a learner: only a voter can lead")) {
                    _ = try await current.runtime.transferLeadership(to: "n9")
                }
                await #expect(throws: RuntimeError.notFound("no member named n7")) {
                    _ = try await current.runtime.transferLeadership(to: "n7")
                }
                let follower = try #require(try await cluster.followers().first)
                let refusal = await #expect(throws: RuntimeError.self) {
                    _ = try await follower.runtime.transferLeadership(to: follower.id)
                }
                guard case .notLeader(let named, _)? = refusal else {
                    Issue.record("a follower answered \(String(describing: refusal)), not notLeader")
                    return
                }
                #expect(named == current.id)
                #expect(try await cluster.leader().id == current.id, "refusals move nothing")
            }
        }
    }
}
