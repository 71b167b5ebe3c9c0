import RaftCore
import Testing

/// Handing leadership to a chosen voter (LeadershipTransfer.swift): catch it up, send
/// TimeoutNow, and give up after an election timeout.
@Suite("Leadership transfer")
struct LeadershipTransferTests {
    @Test("a transfer to a caught-up voter sends TimeoutNow and the target wins the next term")
    func transferToCaughtUpVoter() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.run(ticks: 2)
        try cluster.with("n1") { node throws(RaftError) in try node.transferLeadership(to: "n2") }
        #expect(cluster.inFlight.contains { $0.from == "n1" && $0.to == "n2" && $0.body.isTimeoutNow })
        cluster.stabilize()
        #expect(cluster.leaders == ["n2"])
        #expect(cluster["n2"].currentTerm == 3)
        #expect(cluster["n1"].currentLeader == "n2")
    }

    @Test("a transfer to a lagging voter first catches it up, then sends TimeoutNow")
    func transferToLaggingVoter() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n2")
        for i in 0..<3 { _ = try cluster.propose("n1", payload("l\(i)")) }
        cluster.stabilize()
        cluster.heal()
        try cluster.with("n1") { node throws(RaftError) in try node.transferLeadership(to: "n2") }
        #expect(!cluster.inFlight.contains { $0.body.isTimeoutNow }, "n2 is missing entries")
        cluster.run(ticks: 5)
        #expect(cluster.leaders == ["n2"])
        let toN2 = cluster.sent(from: "n1", to: "n2")
        let timeoutNow = try #require(toN2.firstIndex { $0.body.isTimeoutNow })
        #expect(toN2[..<timeoutNow].contains { $0.body.appendRequest?.entries.contains { $0.index == 7 } == true })
    }

    @Test("a transfer to an unreachable voter refuses proposals while pending and is aborted after an election timeout")
    func transferToUnreachableVoterAborts() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        try cluster.with("n1") { node throws(RaftError) in try node.transferLeadership(to: "n3") }
        #expect(cluster["n1"].status.leadTransferee == "n3")
        #expect(throws: RaftError.transferInProgress) { try cluster.propose("n1", payload("refused")) }
        cluster.run(ticks: 5, except: ["n3"])
        #expect(throws: RaftError.transferInProgress) { try cluster.propose("n1", payload("still refused")) }
        cluster.run(ticks: 5, except: ["n3"])
        #expect(cluster["n1"].status.leadTransferee == nil)
        #expect(cluster["n1"].isLeader && cluster["n1"].currentTerm == 2)
        _ = try cluster.propose("n1", payload("accepted again"))
    }
}
