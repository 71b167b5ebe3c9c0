import RaftCore
import Testing

/// Log replication (section 5.3 and Figure 2's AppendEntries RPC), plus the flow control
/// the leader adds on top: message size batching and the in-flight window.
@Suite("Paper §5.3: replication")
struct PaperReplicationTests {
    /// n2's log: bootstrap 1–3 (term 1), then 4–6 at term 2; term 2, commit 3.
    static func followerWithTermTwoTail(_ id: NodeID, _ storage: MemoryStorage) {
        guard id == "n2" else { return }
        storage.append(entries(from: 4, terms: [2, 2, 2]))
        storage.setHardState(HardState(term: 2, vote: nil, commit: 3))
    }

    static func append(term: UInt64, prev: (UInt64, UInt64), _ newEntries: [Entry], commit: UInt64 = 3) -> Message {
        Message(from: "n1", to: "n2", term: term,
                body: .append(AppendRequest(prevLogIndex: prev.0, prevLogTerm: prev.1, entries: newEntries, leaderCommit: commit)))
    }

    @Test("a new leader appends an empty entry of its own term and replicates it")
    func leaderAppendsNoOp() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        let firstLeaderEntries = try #require(cluster.readies["n1"]!.first { !$0.entries.isEmpty }?.entries)
        #expect(firstLeaderEntries == [Entry(term: 2, index: 4)])
        cluster.run(ticks: 1) // a heartbeat spreads the commit index to every follower
        for id in cluster.ids {
            #expect(cluster.log(of: id).last == Entry(term: 2, index: 4))
            #expect(cluster[id].commitIndex == 4)
        }
    }

    @Test("AppendEntries is rejected when the follower has no entry at prevLogIndex with prevLogTerm")
    func consistencyCheckRejects() throws {
        let cluster = TestCluster(size: 3, prepare: Self.followerWithTermTwoTail)
        // Term mismatch at index 5: the hint names n2's first index of its conflicting term.
        cluster.inject(Self.append(term: 3, prev: (5, 3), [Entry(term: 3, index: 6)]))
        // Past the end of n2's log: the hint says where the log ends.
        cluster.inject(Self.append(term: 3, prev: (9, 3), [Entry(term: 3, index: 10)]))
        let answers = cluster.drop { $0.from == "n2" }.compactMap(\.body.appendResponse)
        try #require(answers.count == 2)
        #expect(!answers[0].success && answers[0].index == 5)
        #expect(answers[0].hintIndex == 4 && answers[0].hintTerm == 2)
        #expect(!answers[1].success && answers[1].index == 9)
        #expect(answers[1].hintIndex == 7 && answers[1].hintTerm == 0)
        #expect(cluster.log(of: "n2").shape == [[1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [6, 2]], "a rejected append changes nothing")
    }

    @Test("a follower deletes the conflicting entry and everything after it, then appends the new entries")
    func followerReplacesConflictingSuffix() {
        let cluster = TestCluster(size: 3, prepare: Self.followerWithTermTwoTail)
        cluster.inject(Self.append(term: 3, prev: (4, 2), [Entry(term: 3, index: 5)]))
        #expect(cluster.log(of: "n2").shape == [[1, 1], [2, 1], [3, 1], [4, 2], [5, 3]])
        let answer = cluster.drop { $0.from == "n2" }.first?.body.appendResponse
        #expect(answer?.success == true && answer?.index == 5)
    }

    @Test("entries the follower already has are not truncated by an older, shorter AppendEntries")
    func followerKeepsMatchingSuffix() {
        let cluster = TestCluster(size: 3, prepare: Self.followerWithTermTwoTail)
        let existing = cluster.log(of: "n2")
        cluster.inject(Self.append(term: 2, prev: (3, 1), [existing[3]]))
        #expect(cluster.log(of: "n2") == existing)
        let answer = cluster.drop { $0.from == "n2" }.first?.body.appendResponse
        #expect(answer?.success == true && answer?.index == 4, "it acknowledges only what the message proved")
    }

    @Test("a follower's commit index becomes min(leaderCommit, index of last new entry) and never decreases")
    func followerCommitRule() {
        let cluster = TestCluster(size: 3, prepare: Self.followerWithTermTwoTail)
        let existing = cluster.log(of: "n2")
        // The leader has committed 6, but this message only proves entries up to 4 match.
        cluster.inject(Self.append(term: 2, prev: (3, 1), [existing[3]], commit: 6))
        #expect(cluster["n2"].commitIndex == 4)
        cluster.inject(Self.append(term: 2, prev: (4, 2), [], commit: 2))
        #expect(cluster["n2"].commitIndex == 4)
        cluster.inject(Self.append(term: 2, prev: (6, 2), [], commit: 6))
        #expect(cluster["n2"].commitIndex == 6)
        #expect(cluster.applied["n2"]!.map(\.index) == [1, 2, 3, 4, 5, 6])
    }

    @Test("heartbeats carry the leader's commit index, capped at what each follower is known to hold")
    func heartbeatCommitIsCappedAtMatch() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        _ = try cluster.propose("n1", payload("a"))
        _ = try cluster.propose("n1", payload("b"))
        cluster.stabilize()
        #expect(cluster["n1"].commitIndex == 6)
        cluster.heal()
        cluster.tick("n1")
        let toN2 = cluster.inFlight.first { $0.to == "n2" }?.body.heartbeat
        let toN3 = cluster.inFlight.first { $0.to == "n3" }?.body.heartbeat
        #expect(toN2?.commit == 6)
        #expect(toN3?.commit == 4, "n3 is only known to hold up to the no-op at 4")
        cluster.deliver { $0.to == "n3" && $0.body.heartbeat != nil }
        #expect(cluster["n3"].commitIndex == 4, "a follower must not commit entries it does not hold")
    }

    /// Both logs share 1–3; after that the leader has 4–6 at term 3 and n2 has ten entries
    /// of term 2 (written by a deposed leader). n3 mirrors the leader so it can win.
    @Test("with the conflict hint the leader skips a whole conflicting term it never had in one round trip")
    func fastBacktrackingSkipsForeignTerm() {
        let cluster = TestCluster(size: 3, prepare: { id, storage in
            storage.append(entries(from: 4, terms: id == "n2" ? Array(repeating: 2, count: 10) : [3, 3, 3]))
            storage.setHardState(HardState(term: 3, vote: nil, commit: 3))
        })
        #expect(cluster.elect("n1"))
        let rejections = cluster.sent(from: "n2", to: "n1").compactMap(\.body.appendResponse).filter { !$0.success }
        #expect(rejections.count == 1, "\(rejections)")
        let probes = cluster.sent(from: "n1", to: "n2").compactMap(\.body.appendRequest)
        #expect(probes.map(\.prevLogIndex).prefix(2) == [6, 3], "after one rejection the leader resumes below the whole term-2 run")
        #expect(cluster.log(of: "n2") == cluster.log(of: "n1"))
    }

    /// The leader has 4–5 at term 2 and 6–8 at term 3; n2 has 4–10 all at term 2.
    @Test("with the conflict hint the leader resumes right after its own last entry of the follower's conflicting term")
    func fastBacktrackingUsesLeadersLastEntryOfTerm() {
        let cluster = TestCluster(size: 3, prepare: { id, storage in
            storage.append(entries(from: 4, terms: id == "n2" ? [2, 2, 2, 2, 2, 2, 2] : [2, 2, 3, 3, 3]))
            storage.setHardState(HardState(term: 3, vote: nil, commit: 3))
        })
        #expect(cluster.elect("n1"))
        let rejections = cluster.sent(from: "n2", to: "n1").compactMap(\.body.appendResponse).filter { !$0.success }
        #expect(rejections.count == 1, "\(rejections)")
        let probes = cluster.sent(from: "n1", to: "n2").compactMap(\.body.appendRequest)
        #expect(probes.map(\.prevLogIndex).prefix(2) == [8, 5])
        #expect(cluster.log(of: "n2") == cluster.log(of: "n1"))
        #expect(cluster.log(of: "n2").shape.map { $0[1] } == [1, 1, 1, 2, 2, 3, 3, 3, 4])
    }

    @Test("AppendEntries messages never carry more than maxMessageBytes of entries (at least one entry each)")
    func batchingRespectsMaxMessageBytes() throws {
        let cluster = TestCluster(size: 3) { $0.maxMessageBytes = 150 }
        #expect(cluster.elect("n1"))
        let before = cluster.sent.count
        // Five 64-byte entries (40 payload + 24 header) proposed before one Ready.
        try cluster.with("n1") { node throws(RaftError) in
            for i in 0..<5 { _ = try node.propose(Array(repeating: UInt8(i), count: 40)) }
        }
        let batches = cluster.sent[before...].filter { $0.to == "n2" }.compactMap(\.body.appendRequest).filter { !$0.entries.isEmpty }
        #expect(batches.map(\.entries.count) == [2, 2, 1])
        #expect(batches.allSatisfy { $0.entries.reduce(0) { $0 + $1.byteSize } <= 150 })
        cluster.stabilize()
        #expect(cluster["n2"].commitIndex == 9)
    }

    @Test("in replicate state at most maxInflightMessages AppendEntries are outstanding to a follower")
    func inflightWindowIsBounded() throws {
        let cluster = TestCluster(size: 3) {
            $0.maxInflightMessages = 2
            $0.maxMessageBytes = 1
        }
        #expect(cluster.elect("n1"))
        #expect(cluster["n1"].status.progress["n2"]?.state == .replicate)
        try cluster.with("n1") { node throws(RaftError) in
            for i in 0..<5 { _ = try node.propose([UInt8(i)]) }
        }
        func outstanding() -> [AppendRequest] {
            cluster.inFlight.filter { $0.to == "n2" }.compactMap(\.body.appendRequest)
        }
        #expect(outstanding().map { $0.entries.map(\.index) } == [[5], [6]])
        // One acknowledgement frees one slot, and exactly one more message goes out.
        cluster.deliver { $0.to == "n2" && $0.body.appendRequest?.entries.first?.index == 5 }
        cluster.deliver { $0.from == "n2" }
        #expect(outstanding().map { $0.entries.map(\.index) } == [[6], [7]])
        cluster.stabilize()
        #expect(cluster.log(of: "n2") == cluster.log(of: "n1"))
    }
}
