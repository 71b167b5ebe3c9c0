import RaftCore
import Testing

/// Messages no honest member sends, each of which used to trap a node, make it persist a
/// term it could never leave, or depose a healthy leader. Each test checks the message is
/// dropped (and counted), the node keeps its state, and the cluster goes on committing.
@Suite("Hostile messages")
struct HostileMessageTests {
    /// A 3-node cluster led by n1 in term 2, with a few entries committed everywhere.
    static func steadyCluster() throws -> TestCluster {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        for i in 0..<3 { _ = try cluster.propose("n1", payload("w\(i)")) }
        cluster.stabilize()
        cluster.run(ticks: 2)
        return cluster
    }

    /// The cluster still commits a write through n1 and every node applies it.
    static func expectStillCommits(_ cluster: TestCluster, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let receipt = try cluster.propose("n1", payload("after"))
        cluster.stabilize()
        for id in cluster.ids {
            #expect(cluster[id].commitIndex >= receipt.index, "\(id) did not commit", sourceLocation: sourceLocation)
        }
    }

    @Test("an append response claiming index UInt64.max does not trap the leader or move its progress")
    func appendResponseBeyondLog() throws {
        let cluster = try Self.steadyCluster()
        let before = cluster["n1"].status.progress["n2"]
        for success in [true, false] {
            cluster.inject(Message(from: "n2", to: "n1", term: 2,
                                   body: .appendResponse(AppendResponse(success: success, index: .max, hintIndex: .max, hintTerm: .max))))
        }
        #expect(cluster["n1"].isLeader)
        #expect(cluster["n1"].status.progress["n2"] == before)
        #expect(cluster["n1"].droppedMessages[.indexOutOfRange] == 2)
        try Self.expectStillCommits(cluster)
    }

    @Test("an append naming prevLogIndex UInt64.max while the follower's newest entries are being written is rejected, not a trap")
    func prevLogIndexAtTheTopDuringAWrite() throws {
        let cluster = try Self.steadyCluster()
        let last = cluster["n2"].lastIndex
        // n2 takes a new entry and its Ready is out: the entry is in its unstable tail.
        let newEntry = AppendRequest(prevLogIndex: last, prevLogTerm: 2, entries: [Entry(term: 2, index: last + 1)], leaderCommit: last)
        let (_, ready) = cluster.beginReady("n2") { $0.step(Message(from: "n1", to: "n2", term: 2, body: .append(newEntry))) }
        #expect(ready.entries.map(\.index) == [last + 1])
        cluster.inject(Message(from: "n1", to: "n2", term: 2,
                               body: .append(AppendRequest(prevLogIndex: .max, prevLogTerm: 2, entries: [], leaderCommit: .max))))
        cluster.complete(ready, on: "n2")
        let answers = cluster.drop { $0.from == "n2" }.compactMap(\.body.appendResponse)
        #expect(answers.contains { !$0.success && $0.index == .max && $0.hintIndex == last + 2 })
        #expect(cluster["n2"].lastIndex == last + 1)
        try Self.expectStillCommits(cluster)
    }

    @Test("an append whose entry indexes jump, overflow or run past the sender's term is refused and changes no log")
    func appendWithMalformedEntries() throws {
        let cluster = try Self.steadyCluster()
        let last = cluster["n2"].lastIndex
        let logBefore = cluster.log(of: "n2")
        let malformed: [AppendRequest] = [
            // Indexes jump over a gap.
            AppendRequest(prevLogIndex: last, prevLogTerm: 2, entries: entries(from: last + 5, terms: [2, 2]), leaderCommit: last),
            // Indexes go backward into the committed log.
            AppendRequest(prevLogIndex: last, prevLogTerm: 2, entries: entries(from: 1, terms: [2, 2, 2]), leaderCommit: last),
            // prevLogIndex at the very top: the next index would overflow.
            AppendRequest(prevLogIndex: .max, prevLogTerm: 2, entries: [Entry(term: 2, index: .max)], leaderCommit: .max),
            // An entry from a term after the sender's.
            AppendRequest(prevLogIndex: last, prevLogTerm: 2, entries: entries(from: last + 1, terms: [3]), leaderCommit: last),
            // Terms running backward.
            AppendRequest(prevLogIndex: last, prevLogTerm: 2, entries: entries(from: last + 1, terms: [2, 1]), leaderCommit: last),
        ]
        for request in malformed {
            cluster.inject(Message(from: "n1", to: "n2", term: 2, body: .append(request)))
        }
        #expect(cluster.log(of: "n2") == logBefore)
        #expect(cluster["n2"].droppedMessages[.malformedEntries] == UInt64(malformed.count))
        try Self.expectStillCommits(cluster)
    }

    @Test("an append whose entries contradict committed ones leaves the log and commit index as they were")
    func appendConflictingWithCommitted() throws {
        let cluster = try Self.steadyCluster()
        let committed = cluster["n2"].commitIndex
        let logBefore = cluster.log(of: "n2")
        // Well formed, from the leader's id, but rewriting the committed log with entries of
        // another term: the part at or below the commit index is never taken as new, and
        // the first entry past it does not follow our committed entry, so it is refused.
        let request = AppendRequest(prevLogIndex: 1, prevLogTerm: 1,
                                    entries: entries(from: 2, terms: Array(repeating: 3, count: Int(committed))),
                                    leaderCommit: committed + 3)
        cluster.inject(Message(from: "n1", to: "n2", term: 3, body: .append(request)))
        #expect(cluster.log(of: "n2") == logBefore)
        #expect(cluster["n2"].commitIndex == committed)
        let answer = cluster.inFlight.last { $0.from == "n2" && $0.to == "n1" }?.body.appendResponse
        #expect(answer?.success == false)
    }

    @Test("a vote request with term UInt64.max from a stranger changes no node's term and is never persisted")
    func maxTermVoteFromStranger() throws {
        let cluster = try Self.steadyCluster()
        let readiesBefore = cluster.ids.map { cluster.readies[$0]!.count }
        for target in cluster.ids {
            for transfer in [false, true] {
                let request = VoteRequest(lastLogIndex: .max, lastLogTerm: .max, isLeadershipTransfer: transfer)
                cluster.inject(Message(from: "evil", to: target, term: .max, body: .vote(request)))
                cluster.inject(Message(from: "evil", to: target, term: .max, body: .preVote(request)))
            }
        }
        for (position, id) in cluster.ids.enumerated() {
            #expect(cluster[id].currentTerm == 2)
            #expect(cluster[id].droppedMessages[.unknownSender] == 4)
            let hardStates = cluster.readies[id]!.dropFirst(readiesBefore[position]).compactMap(\.hardState)
            #expect(hardStates.allSatisfy { $0.term == 2 }, "\(id) persisted a forged term")
        }
        #expect(cluster.leaders == ["n1"])
        // A restart finds term 2 on disk and the cluster goes on.
        cluster.restart("n2")
        #expect(cluster["n2"].currentTerm == 2)
        try Self.expectStillCommits(cluster)
    }

    @Test("a member's message with a term beyond any election's reach is dropped")
    func termOutOfRangeFromMember() throws {
        let cluster = try Self.steadyCluster()
        for term in [UInt64.max, 2 + RaftNode.maxTermJump + 1] {
            cluster.inject(Message(from: "n3", to: "n2", term: term, body: .vote(VoteRequest(lastLogIndex: .max, lastLogTerm: .max))))
            cluster.inject(Message(from: "n3", to: "n1", term: term, body: .appendResponse(AppendResponse(success: false, index: 0))))
        }
        #expect(cluster["n2"].currentTerm == 2)
        #expect(cluster["n1"].isLeader && cluster["n1"].currentTerm == 2)
        #expect(cluster["n2"].droppedMessages[.termOutOfRange] == 2)
        #expect(cluster["n1"].droppedMessages[.termOutOfRange] == 2)
        try Self.expectStillCommits(cluster)
    }

    @Test("a leadership-transfer vote request from a stranger does not depose the leader")
    func transferVoteFromStrangerKeepsLeader() throws {
        let cluster = try Self.steadyCluster()
        let request = VoteRequest(lastLogIndex: 1_000, lastLogTerm: 10, isLeadershipTransfer: true)
        for target in cluster.ids {
            cluster.inject(Message(from: "evil", to: target, term: 10, body: .vote(request)))
        }
        cluster.stabilize()
        #expect(cluster.leaders == ["n1"])
        #expect(cluster.ids.allSatisfy { cluster[$0].currentTerm == 2 })
        // The stranger was told no, in our term.
        #expect(cluster.sent.contains { $0.to == "evil" && $0.body.voteGranted == false })
        try Self.expectStillCommits(cluster)
    }

    @Test("TimeoutNow from a member that is not our leader starts no election")
    func timeoutNowFromNonLeader() throws {
        let cluster = try Self.steadyCluster()
        cluster.inject(Message(from: "n3", to: "n2", term: 2, body: .timeoutNow))
        cluster.inject(Message(from: "evil", to: "n2", term: 2, body: .timeoutNow))
        cluster.stabilize()
        #expect(cluster.leaders == ["n1"])
        #expect(cluster["n2"].currentTerm == 2)
        #expect(cluster["n2"].droppedMessages[.notFromLeader] == 1)
        #expect(cluster["n2"].droppedMessages[.unknownSender] == 1)
    }

    @Test("a heartbeat or append in our term from a member that is not its leader is dropped")
    func secondLeaderInTerm() throws {
        let cluster = try Self.steadyCluster()
        let commit = cluster["n2"].commitIndex
        cluster.inject(Message(from: "n3", to: "n2", term: 2, body: .heartbeat(Heartbeat(commit: .max))))
        cluster.inject(Message(from: "n3", to: "n2", term: 2,
                               body: .append(AppendRequest(prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: .max))))
        #expect(cluster["n2"].currentLeader == "n1")
        #expect(cluster["n2"].commitIndex == commit)
        #expect(cluster["n2"].droppedMessages[.notFromLeader] == 2)
    }

    @Test("a heartbeat answer echoing a read round never opened confirms no read")
    func readRoundFromTheFuture() throws {
        let cluster = try Self.steadyCluster()
        cluster.isolate("n3")
        try cluster.with("n1") { node throws(RaftError) in try node.readIndex(requestID: 7) }
        // n2's real answer is lost; a forged one claims every future round.
        cluster.drop { $0.to == "n2" || $0.from == "n2" }
        cluster.inject(Message(from: "n2", to: "n1", term: 2, body: .heartbeatResponse(HeartbeatResponse(readRound: .max))))
        cluster.stabilize()
        #expect(cluster.readStates["n1", default: []].isEmpty, "the read must wait for a real quorum")
        #expect(cluster["n1"].droppedMessages[.indexOutOfRange] == 1)
    }

    @Test("a node whose persisted term is UInt64.max does not trap when its election timer fires")
    func termAtTheTop() {
        let cluster = TestCluster(size: 3, prepare: { id, storage in
            if id == "n3" { storage.setHardState(HardState(term: .max, vote: nil, commit: 3)) }
        })
        cluster.tick("n3", times: 100)
        #expect(cluster["n3"].currentTerm == .max)
        #expect(cluster["n3"].currentRole == .follower)
    }

    @Test("a stranger cannot take a follower from a live leader, but a new node with no configuration hears from anyone")
    func strangerLeaderMessages() throws {
        let cluster = try Self.steadyCluster()
        cluster.inject(Message(from: "evil", to: "n2", term: 3, body: .heartbeat(Heartbeat(commit: 0))))
        #expect(cluster["n2"].currentTerm == 2)
        #expect(cluster["n2"].currentLeader == "n1")
        #expect(cluster["n2"].droppedMessages[.unknownSender] == 1)
    }
}
