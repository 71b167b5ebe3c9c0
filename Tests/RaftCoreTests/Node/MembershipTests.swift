import RaftCore
import Testing

/// Learners and single-server membership changes (Membership.swift): who votes, who counts
/// toward a quorum, and when a change takes effect.
@Suite("Membership: learners and configuration changes")
struct MembershipTests {
    /// n1 leads a cluster of voters n1–n3 to which spare n4 was added as a learner.
    static func clusterWithLearner() throws -> TestCluster {
        let cluster = TestCluster(size: 3, spares: 1)
        #expect(cluster.elect("n1"))
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n4")) }
        cluster.stabilize()
        cluster.run(ticks: 2)
        try #require(cluster["n4"].configuration.learners == ["n4"])
        try #require(cluster.log(of: "n4") == cluster.log(of: "n1"))
        return cluster
    }

    @Test("a learner never campaigns, is never asked for votes, and its vote does not count")
    func learnerNeverVotes() throws {
        let cluster = try Self.clusterWithLearner()
        #expect(cluster["n1"].status.progress["n4"]?.isLearner == true)
        cluster.isolate("n4")
        cluster.tick("n4", times: 100)
        #expect(cluster["n4"].currentRole == .follower)
        #expect(!cluster.sent(from: "n4").contains { $0.body.voteRequest != nil || $0.body.preVoteRequest != nil })

        cluster.heal()
        cluster.campaign("n2")
        #expect(!cluster.inFlight.contains { $0.to == "n4" }, "candidates ask voters only")

        // n1 learns of term 3 and steps down, then runs a pre-election for term 4 in which
        // only the learner says yes.
        cluster.drop()
        cluster.inject(Message(from: "n2", to: "n1", term: 3, body: .heartbeatResponse(HeartbeatResponse())))
        #expect(cluster["n1"].currentRole == .follower)
        cluster.campaign("n1")
        cluster.drop()
        let grant = { (from: NodeID) in
            Message(from: from, to: "n1", term: 4, body: .preVoteResponse(VoteResponse(granted: true)))
        }
        cluster.inject(grant("n4"))
        #expect(cluster["n1"].currentRole == .preCandidate, "one voter plus a learner is not a majority of three voters")
        cluster.inject(grant("n2"))
        #expect(cluster["n1"].currentRole == .candidate, "a second voter is")
    }

    @Test("a learner's acknowledgements do not count toward a commit or toward CheckQuorum")
    func learnerIsNotPartOfQuorum() throws {
        let cluster = try Self.clusterWithLearner()
        cluster.isolate("n2")
        cluster.isolate("n3")
        let commitBefore = cluster["n1"].commitIndex
        let receipt = try cluster.propose("n1", payload("needs a voter"))
        cluster.stabilize()
        #expect(cluster["n1"].status.progress["n4"]?.matchIndex == receipt.index, "the learner stored it")
        #expect(cluster["n1"].commitIndex == commitBefore)
        cluster.run(ticks: 25, except: ["n2", "n3"])
        #expect(!cluster["n1"].isLeader, "hearing only from a learner is not a quorum")
    }

    @Test("a leader that removes itself keeps leading until the change is applied, then steps down and never campaigns")
    func removingLeaderStepsDown() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .remove, node: "n1")) }
        #expect(cluster["n1"].isLeader, "the change is not applied yet")
        cluster.stabilize()
        #expect(cluster["n1"].currentRole == .follower)
        #expect(cluster["n1"].configuration.voters == ["n2", "n3"])

        let sentBefore = cluster.sent.count
        cluster.run(ticks: 40)
        let newLeader = try #require(cluster.leaders.first)
        #expect(newLeader != "n1")
        #expect(!cluster.sent[sentBefore...].contains { $0.from == "n1" && ($0.body.voteRequest != nil || $0.body.preVoteRequest != nil) })
        _ = try cluster.propose(newLeader, payload("without n1"))
        cluster.stabilize()
        #expect(cluster[newLeader].commitIndex == cluster[newLeader].lastIndex)
    }

    @Test("a second membership change is refused while the first is not applied")
    func oneConfChangeAtATime() throws {
        let cluster = TestCluster(size: 3, spares: 2)
        #expect(cluster.elect("n1"))
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n4")) }
        #expect(throws: RaftError.configChangeInProgress) {
            try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n5")) }
        }
        cluster.stabilize()
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n5")) }
        cluster.stabilize()
        #expect(cluster["n1"].configuration.learners == ["n4", "n5"])
    }

    @Test("a learner counts as caught up only once it has answered, and only while it keeps answering")
    func caughtUpNeedsAnAnswer() throws {
        let cluster = TestCluster(size: 3, spares: 1)
        #expect(cluster.elect("n1"))
        // n4 is unreachable from the start: in a log this short, a lag allowance alone would
        // call it caught up, and promoting it would add a voter that never answers.
        cluster.isolate("n4")
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n4")) }
        cluster.stabilize()
        #expect(cluster["n1"].configuration.learners == ["n4"])
        #expect(!cluster["n1"].isCaughtUp("n4", within: 16), "never answered")

        cluster.heal()
        cluster.run(ticks: 3)
        cluster.stabilize()
        #expect(cluster["n1"].isCaughtUp("n4"), "answered and holds every entry")

        cluster.isolate("n4")
        cluster.run(ticks: 25, except: ["n4"])
        #expect(!cluster["n1"].isCaughtUp("n4", within: 16), "silent for an election timeout")
    }
}
