import RaftCore
import Testing

/// Linearizable reads without a log entry (ReadIndex.swift): confirmed by a heartbeat round
/// or, with leases, by CheckQuorum; never by a leader that may have been replaced.
@Suite("ReadIndex")
struct ReadIndexTests {
    @Test("a leader with a quorum confirms a read at its commit index after one heartbeat round; a follower's read is forwarded")
    func readIndexWithQuorum() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.run(ticks: 1)
        try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: 42) }
        #expect(cluster.readStates["n1", default: []].isEmpty, "not confirmed before a quorum answered")
        cluster.stabilize()
        #expect(cluster.readStates["n1"] == [ReadState(requestID: 42, index: cluster["n1"].commitIndex)])

        try cluster.with("n2") { node throws(RaftError) in try node.readIndex(requestID: 7) }
        cluster.stabilize()
        #expect(cluster.readStates["n2"] == [ReadState(requestID: 7, index: cluster["n1"].commitIndex)])
    }

    @Test("a new leader does not confirm a read before an entry of its own term is committed")
    func readIndexWaitsForFirstCommitOfTerm() throws {
        let cluster = TestCluster(size: 3)
        cluster.campaign("n1")
        // Deliver only elections, never AppendEntries.
        while !cluster.deliver(where: { $0.body.appendRequest == nil && $0.body.appendResponse == nil }).isEmpty {}
        try #require(cluster["n1"].isLeader && cluster["n1"].commitIndex == 3)
        try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: 1) }
        cluster.tick("n1")
        while !cluster.deliver(where: { $0.body.appendRequest == nil && $0.body.appendResponse == nil }).isEmpty {}
        #expect(cluster.readStates["n1", default: []].isEmpty, "commit index 3 may be stale for a new leader")
        cluster.stabilize()
        #expect(cluster.readStates["n1"] == [ReadState(requestID: 1, index: 4)])
    }

    @Test("a partitioned leader never confirms a read and abandons it when it steps down")
    func readIndexOnPartitionedLeader() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n1")
        try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: 5) }
        cluster.run(ticks: 30, except: ["n2", "n3"])
        #expect(!cluster["n1"].isLeader, "CheckQuorum made it step down")
        #expect(cluster.readStates["n1", default: []].isEmpty)
        #expect(cluster.abandonedReads["n1"] == [5])
    }

    @Test("a deposed leader (CheckQuorum off) abandons its pending read once it learns of the newer term")
    func readIndexOnDeposedLeader() throws {
        let cluster = TestCluster(size: 3) { $0.checkQuorum = false }
        #expect(cluster.elect("n1"))
        cluster.isolate("n1")
        for _ in 0..<60 where !cluster.leaders.contains(where: { $0 != "n1" }) { cluster.run(ticks: 1, except: ["n1"]) }
        try #require(cluster.leaders.contains { $0 != "n1" })
        try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: 9) }
        cluster.run(ticks: 3, except: ["n2", "n3"])
        #expect(cluster.readStates["n1", default: []].isEmpty)
        cluster.heal()
        cluster.run(ticks: 3)
        #expect(!cluster["n1"].isLeader)
        #expect(cluster.readStates["n1", default: []].isEmpty, "a deposed leader must not confirm the read")
        #expect(cluster.abandonedReads["n1"] == [9])
    }

    /// Lease-based reads skip the heartbeat round and trust CheckQuorum instead. That is
    /// only linearizable if the old leader stops serving reads before a new leader can be
    /// elected and commit a write. The test isolates the leader at every phase of its
    /// CheckQuorum period and asks it for a read each tick once a new leader has committed.
    @Test("with lease-based reads, a partitioned leader confirms no read after another leader committed a write")
    func leaseReadsAreNotStale() throws {
        var staleReads: [String] = []
        for phase in 0..<10 {
            let cluster = TestCluster(size: 3) { $0.leaseBasedReads = true }
            #expect(cluster.elect("n1"))
            cluster.run(ticks: phase)
            cluster.isolate("n1")
            var newestWrite: UInt64 = 0
            for tick in 0..<40 {
                cluster.run(ticks: 1)
                guard cluster["n1"].isLeader else { break }
                guard let other = cluster.leaders.first(where: { $0 != "n1" }) else { continue }
                if newestWrite == 0 {
                    newestWrite = try cluster.propose(other, payload("new")).index
                    cluster.stabilize()
                    try #require(cluster[other].commitIndex >= newestWrite)
                }
                let id = UInt64(phase * 100 + tick)
                try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: id) }
                if let read = cluster.readStates["n1", default: []].first(where: { $0.requestID == id }), read.index < newestWrite {
                    staleReads.append("phase \(phase), tick \(tick): n1 confirmed read at \(read.index); \(other) committed \(newestWrite)")
                }
            }
        }
        #expect(staleReads.isEmpty, "\(staleReads.count) stale reads, first: \(staleReads.first ?? "")")
    }
}
