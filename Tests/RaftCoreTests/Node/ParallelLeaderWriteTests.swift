import RaftCore
import Testing

/// The leader sends AppendEntries while it writes its own log (the dissertation's section
/// 10.2.1) and counts its own copy toward a majority only once that write is durable.
@Suite("Leader writes in parallel with replication")
struct ParallelLeaderWriteTests {
    @Test("AppendEntries leave before the leader's write; one follower's ack alone does not commit")
    func replicationPrecedesTheLeadersWrite() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.stabilize()
        let commitBefore = cluster["n1"].commitIndex

        let (receipt, ready) = try cluster.beginReady("n1") { node throws(RaftError) in try node.propose(payload("x")) }
        #expect(ready.entries.map(\.index) == [receipt.index])
        let early = ready.replicationMessages.filter { $0.body.appendRequest?.entries.contains { $0.index == receipt.index } == true }
        #expect(Set(early.map(\.to)) == ["n2", "n3"])
        #expect(!ready.messages.contains { $0.body.appendRequest != nil })

        // n2 stores it and acknowledges while n1's own copy is still being written.
        cluster.deliver { $0.to == "n2" }
        let acks = cluster.deliver { $0.from == "n2" && $0.to == "n1" }
        #expect(acks.contains { $0.body.appendResponse?.index == receipt.index })
        #expect(cluster["n1"].commitIndex == commitBefore, "n2's copy and n1's unwritten one are not a majority of durable copies")

        cluster.complete(ready, on: "n1")
        #expect(cluster["n1"].commitIndex == receipt.index)
        cluster.stabilize()
        #expect(cluster.appliedIndex["n3"] == receipt.index)
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("what commits while the leader's next write is out is handed out at once, once, and counted as applied at advance")
    func entriesCommittedDuringTheWriteAreTakenEarly() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.stabilize()
        #expect(cluster.takeCommittedEntries("n1").isEmpty, "no Ready is out")

        let (first, ready1) = try cluster.beginReady("n1") { node throws(RaftError) in try node.propose(payload("x")) }
        cluster.complete(ready1, on: "n1")
        let (second, ready2) = try cluster.beginReady("n1") { node throws(RaftError) in try node.propose(payload("y")) }
        #expect(ready2.committedEntries.isEmpty)

        // n2 stores x and y and acknowledges both while n1 is still writing y.
        cluster.deliver { $0.to == "n2" }
        cluster.deliver { $0.from == "n2" && $0.to == "n1" }
        #expect(cluster["n1"].commitIndex == first.index, "y is durable on n2 alone")
        #expect(cluster.takeCommittedEntries("n1").map(\.index) == [first.index])
        #expect(cluster.takeCommittedEntries("n1").isEmpty, "nothing is handed out twice")
        #expect(cluster["n1"].appliedIndex < first.index, "applied moves at advance")

        cluster.complete(ready2, on: "n1")
        #expect(cluster["n1"].appliedIndex >= first.index)
        cluster.stabilize()
        #expect(cluster["n1"].commitIndex == second.index)
        #expect(cluster.appliedIndex["n1"] == second.index)
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("a lone voter commits only after its own write, so its learner never hears of an unwritten commit")
    func loneVoterCommitsAfterItsWrite() throws {
        let cluster = TestCluster(voters: ["n1"], spares: ["n2"])
        #expect(cluster.elect("n1"))
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n2")) }
        cluster.stabilize()
        try #require(cluster["n2"].configuration.learners == ["n2"])
        let commitBefore = cluster["n1"].commitIndex

        let (receipt, ready) = try cluster.beginReady("n1") { node throws(RaftError) in try node.propose(payload("y")) }
        #expect(cluster["n1"].commitIndex == commitBefore)
        #expect(ready.committedEntries.isEmpty)
        for message in ready.replicationMessages {
            #expect((message.body.appendRequest?.leaderCommit ?? 0) < receipt.index)
        }
        cluster.complete(ready, on: "n1")
        #expect(cluster["n1"].commitIndex == receipt.index)
        #expect(cluster.appliedIndex["n1"] == receipt.index)
        cluster.stabilize()
        #expect(cluster.appliedIndex["n2"] == receipt.index)
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("a Ready that only moves the commit index need not be synced; a new term or vote must be")
    func onlyTermVoteAndEntriesMustSync() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.stabilize()
        let campaign = try #require(cluster.readies["n1"]?.first { $0.hardState?.vote == "n1" })
        #expect(campaign.mustSync)
        _ = try cluster.propose("n1", payload("z"))
        cluster.stabilize()
        let commitOnly = cluster.readies["n2"]!.filter {
            $0.entries.isEmpty && $0.hardState != nil && !$0.committedEntries.isEmpty
        }
        #expect(!commitOnly.isEmpty)
        #expect(commitOnly.allSatisfy { !$0.mustSync })
        #expect(cluster.readies["n2"]!.filter { !$0.entries.isEmpty }.allSatisfy { $0.mustSync })
    }

    @Test("a vote granted in a term the node already knew must be synced")
    func voteAloneMustSync() throws {
        let cluster = TestCluster(size: 3)
        // n2 learns of term 5 from a stray response, without voting in it...
        cluster.inject(Message(from: "n3", to: "n2", term: 5, body: .heartbeatResponse(HeartbeatResponse())))
        #expect(cluster["n2"].currentTerm == 5)
        let before = cluster.readies["n2"]!.count
        // ...then grants n3 its vote in that term: only the vote changes.
        cluster.inject(Message(from: "n3", to: "n2", term: 5,
                               body: .vote(VoteRequest(lastLogIndex: 100, lastLogTerm: 4))))
        let grant = try #require(cluster.readies["n2"]!.dropFirst(before).first { $0.hardState?.vote == "n3" })
        #expect(grant.hardState?.term == 5)
        #expect(grant.mustSync)
    }
}
