import RaftCore
import Testing

/// What the leader adds to section 5.3 (Replication.swift): probing a member again when its
/// answers were lost, and refusing proposals beyond the uncommitted-bytes budget. The
/// paper's own rules are in PaperReplicationTests.
@Suite("Replication: probing and backpressure")
struct ReplicationTests {
    @Test("a new member whose answers to the first probes were lost is probed again once it answers, with no new writes")
    func lostProbeAnswersAreProbedAgain() throws {
        let cluster = TestCluster(size: 3, spares: 1)
        #expect(cluster.elect("n1"))
        _ = try cluster.with("n1") { node throws(RaftError) in try node.proposeConfChange(ConfChange(kind: .addLearner, node: "n4")) }
        // n4 hears the leader before it can answer (kv-node: before its join call returns and
        // tells it where the others are): everything it says is lost for a while.
        for _ in 0..<20 {
            cluster.tickAll()
            cluster.processAll()
            _ = cluster.drop { $0.from == "n4" }
            _ = cluster.deliver()
        }
        #expect(cluster.log(of: "n4").isEmpty)
        // From now on it is heard. Nothing new is written, so only a renewed probe can
        // find where its log ends.
        cluster.run(ticks: 20)
        #expect(cluster.log(of: "n4") == cluster.log(of: "n1"))
    }

    @Test("proposals beyond maxUncommittedBytes are refused until earlier ones commit")
    func backpressure() throws {
        let cluster = TestCluster(size: 3) { $0.maxUncommittedBytes = 100 }
        #expect(cluster.elect("n1"))
        cluster.isolate("n2")
        cluster.isolate("n3")
        _ = try cluster.propose("n1", Array(repeating: 1, count: 40))
        #expect(throws: RaftError.backpressure) { try cluster.propose("n1", Array(repeating: 2, count: 40)) }
        cluster.heal()
        cluster.run(ticks: 3)
        #expect(cluster["n1"].commitIndex == 5)
        _ = try cluster.propose("n1", Array(repeating: 3, count: 40))
    }
}
