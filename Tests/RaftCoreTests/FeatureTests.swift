import RaftCore
import Testing

/// The features beyond the paper's section 5: learners, membership changes, chunked
/// snapshots, leadership transfer, ReadIndex, and backpressure.
@Suite("Advanced features")
struct FeatureTests {
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

    // MARK: Learners

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

    // MARK: Membership

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

    // MARK: Snapshots

    @Test("a completed snapshot is installed from its own chunks when a newer snapshot's first chunk arrives before the Ready")
    func completedSnapshotIsNotReplacedBeforeItsInstall() {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.stabilize()
        let term = cluster["n2"].currentTerm
        let conf = cluster["n2"].configuration
        let completed = SnapshotMetadata(index: 100, term: term, conf: conf)
        let newer = SnapshotMetadata(index: 200, term: term, conf: conf)
        cluster.with("n2") { node in
            // Both arrive while n2 hands out nothing (its previous Ready still out, say).
            node.step(Message(from: "n1", to: "n2", term: term,
                              body: .snapshot(SnapshotChunk(metadata: completed, offset: 0, data: [1, 2, 3], isLast: true))))
            node.step(Message(from: "n1", to: "n2", term: term,
                              body: .snapshot(SnapshotChunk(metadata: newer, offset: 0, data: [4], isLast: false))))
        }
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
        #expect(cluster.appliedIndex["n2"] == completed.index)
    }

    @Test("a follower behind the leader's first index receives the snapshot in chunks, then the later entries")
    func laggingFollowerGetsChunkedSnapshot() throws {
        let cluster = TestCluster(size: 3) { $0.snapshotChunkBytes = 4 }
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        for i in 0..<3 { _ = try cluster.propose("n1", payload("s\(i)")) }
        cluster.stabilize()
        let metadata = cluster["n1"].snapshotMetadataAtApplied
        #expect(metadata.index == 7)
        let state: [UInt8] = Array(0..<10)
        cluster.storages["n1"]!.createSnapshot(metadata, data: state)
        for i in 0..<2 { _ = try cluster.propose("n1", payload("after\(i)")) }
        cluster.stabilize()
        #expect(cluster["n1"].status.firstIndex == 8)

        cluster.heal()
        cluster.run(ticks: 6)
        let toN3 = cluster.sent(from: "n1", to: "n3")
        let chunks = toN3.compactMap(\.body.snapshotChunk)
        #expect(chunks.map(\.offset) == [0, 4, 8])
        #expect(chunks.map(\.data.count) == [4, 4, 2])
        #expect(chunks.map(\.isLast) == [false, false, true])
        #expect(chunks.allSatisfy { $0.metadata == metadata })
        let lastChunk = try #require(toN3.lastIndex { $0.body.snapshotChunk != nil })
        let entriesAfter = toN3[lastChunk...].compactMap(\.body.appendRequest).flatMap(\.entries).map(\.index)
        #expect(entriesAfter.contains(8) && entriesAfter.contains(9))

        let storage = cluster.storages["n3"]!
        #expect(storage.snapshotMetadata() == metadata)
        #expect(try storage.snapshotData(offset: 0, maxBytes: 100).bytes == state)
        #expect(cluster.log(of: "n3") == cluster.log(of: "n1"))
        #expect(cluster["n3"].commitIndex == cluster["n1"].commitIndex)
        #expect(cluster.applied["n3"]!.map(\.index) == [8, 9], "after installing, only the later entries are applied")
        #expect(cluster.readies["n3"]!.contains { $0.snapshotToInstall == metadata })
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    // MARK: Leadership transfer

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

    // MARK: ReadIndex

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

    // MARK: Backpressure

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
