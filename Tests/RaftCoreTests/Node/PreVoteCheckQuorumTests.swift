import RaftCore
import Testing

/// PreVote and CheckQuorum (dissertation 9.6 and 4.2.3): the two guards that keep a node
/// cut off from the cluster from disrupting it, and a leader cut off from the cluster from
/// pretending to lead. Each is tested on and off, so a test fails if the flag is ignored.
@Suite("PreVote and CheckQuorum")
struct PreVoteCheckQuorumTests {
    /// n1 leads term 2; n3 is cut off while the others commit more entries, ticks for a
    /// long time, then the partition heals and everything is delivered for a while.
    static func partitionAndRejoin(preVote: Bool) throws -> (cluster: TestCluster, termWhileIsolated: UInt64) {
        let cluster = TestCluster(size: 3) {
            $0.preVote = preVote
            $0.checkQuorum = false
        }
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        for i in 0..<3 { _ = try cluster.propose("n1", payload("w\(i)")) }
        cluster.stabilize()
        cluster.run(ticks: 60)
        let termWhileIsolated = cluster["n3"].currentTerm
        cluster.heal()
        cluster.run(ticks: 60)
        return (cluster, termWhileIsolated)
    }

    @Test("with PreVote, a partitioned node's pre-elections raise no one's term and its return does not disrupt the leader")
    func preVoteKeepsRejoiningNodeHarmless() throws {
        let (cluster, termWhileIsolated) = try Self.partitionAndRejoin(preVote: true)
        #expect(termWhileIsolated == 2, "pre-elections must not increment the term")
        #expect(cluster.sent(from: "n3").contains { $0.body.preVoteRequest != nil }, "n3 should have tried")
        #expect(cluster.sent(from: "n3").allSatisfy { $0.body.voteRequest == nil }, "no real election may start")
        #expect(cluster.leaders == ["n1"])
        #expect(cluster.ids.allSatisfy { cluster[$0].currentTerm == 2 })
        #expect(cluster["n3"].commitIndex == cluster["n1"].commitIndex, "n3 caught up with the same leader")
    }

    @Test("without PreVote (or CheckQuorum), a partitioned node inflates its term and deposes the leader when it returns")
    func withoutPreVoteRejoiningNodeDisrupts() throws {
        let (cluster, termWhileIsolated) = try Self.partitionAndRejoin(preVote: false)
        #expect(termWhileIsolated > 2)
        let n1SteppedDown = cluster.readies["n1"]!.contains { $0.softState?.role == .follower }
        #expect(n1SteppedDown)
        #expect(cluster["n1"].currentTerm >= termWhileIsolated, "n1 had to adopt the inflated term")
    }

    @Test("with CheckQuorum, a leader that hears from no majority for an election timeout steps down", arguments: [true, false])
    func leaderWithoutQuorumStepsDown(checkQuorum: Bool) {
        let cluster = TestCluster(size: 3) { $0.checkQuorum = checkQuorum }
        #expect(cluster.elect("n1"))
        cluster.run(ticks: 3)
        cluster.isolate("n1")
        cluster.run(ticks: 20, except: ["n2", "n3"])
        if checkQuorum {
            #expect(cluster["n1"].currentRole == .follower)
            #expect(cluster["n1"].currentTerm == 2, "stepping down does not change the term")
        } else {
            #expect(cluster["n1"].currentRole == .leader, "without CheckQuorum nothing makes it step down")
        }
    }

    @Test("a leader that hears from a majority keeps leading with CheckQuorum on")
    func leaderWithQuorumStays() {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        cluster.run(ticks: 50, except: ["n3"])
        #expect(cluster["n1"].isLeader)
        #expect(cluster["n1"].currentTerm == 2)
    }

    @Test("with CheckQuorum, followers that hear from a live leader ignore a disruptive vote request", arguments: [true, false])
    func followersIgnoreVotesWithinLease(checkQuorum: Bool) {
        let cluster = TestCluster(size: 3) {
            $0.preVote = false
            $0.checkQuorum = checkQuorum
        }
        #expect(cluster.elect("n1"))
        cluster.run(ticks: 3)
        // n3 (whose log is complete) starts an election of term 3 on its own.
        cluster.campaign("n3")
        cluster.deliver { $0.from == "n3" }
        let n2Answers = cluster.inFlight.filter { $0.from == "n2" && $0.to == "n3" }
        if checkQuorum {
            #expect(n2Answers.isEmpty, "the request must be ignored, not answered")
            #expect(cluster["n2"].currentTerm == 2)
            #expect(cluster["n1"].isLeader && cluster["n1"].currentTerm == 2)
        } else {
            #expect(n2Answers.map(\.body.voteGranted) == [true])
            #expect(cluster["n2"].currentTerm == 3)
            #expect(!cluster["n1"].isLeader)
        }
    }
}
