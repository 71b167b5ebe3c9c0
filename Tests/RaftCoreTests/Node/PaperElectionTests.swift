import RaftCore
import Testing

/// Leader election as the Raft paper's section 5.2 and Figure 2 ("Rules for Servers",
/// "RequestVote RPC") describe it. Most tests turn PreVote off so that the plain
/// algorithm of the paper is what runs; PreVote has its own suite.
@Suite("Paper §5.2: election")
struct PaperElectionTests {
    static func plain(_ config: inout RaftConfig) { config.preVote = false }

    static func vote(from candidate: NodeID, to voter: NodeID, term: UInt64,
                     lastIndex: UInt64 = 3, lastTerm: UInt64 = 1) -> Message {
        Message(from: candidate, to: voter, term: term,
                body: .vote(VoteRequest(lastLogIndex: lastIndex, lastLogTerm: lastTerm)))
    }

    @Test("a follower that hears nothing for an election timeout starts a pre-election without changing its term")
    func followerTimesOutIntoPreCandidate() {
        let cluster = TestCluster(size: 3)
        cluster.tick("n1", times: 9)
        #expect(cluster["n1"].currentRole == .follower, "the timeout is at least electionTicks")

        cluster.tick("n1", times: 11)
        #expect(cluster["n1"].currentRole == .preCandidate)
        #expect(cluster["n1"].currentTerm == 1, "PreVote must not touch the term")
        let requests = cluster.sent(from: "n1").filter { $0.body.preVoteRequest != nil }
        #expect(Set(requests.map(\.to)) == ["n2", "n3"])
        #expect(requests.allSatisfy { $0.term == 2 }, "a PreVote names the term it would campaign in")
    }

    @Test("without PreVote a timed-out follower becomes candidate, increments its term, votes for itself and asks every voter")
    func followerTimesOutIntoCandidate() throws {
        let cluster = TestCluster(size: 3, configure: Self.plain)
        cluster.tick("n1", times: 20)
        let node = cluster["n1"]
        #expect(node.currentRole == .candidate)
        #expect(node.currentTerm == 2)
        #expect(node.status.vote == "n1")
        #expect(cluster.storages["n1"]!.hardState.term == 2)
        #expect(cluster.storages["n1"]!.hardState.vote == "n1")
        let requests = cluster.sent(from: "n1").filter { $0.body.voteRequest != nil }
        #expect(Set(requests.map(\.to)) == ["n2", "n3"])
        let request = try #require(requests.first?.body.voteRequest)
        #expect(request.lastLogIndex == 3 && request.lastLogTerm == 1)
    }

    @Test("a candidate becomes leader exactly when a majority of voters granted its vote")
    func candidateWinsWithMajority() {
        let cluster = TestCluster(size: 5, configure: Self.plain)
        cluster.campaign("n1")
        cluster.deliver { $0.to == "n2" }
        cluster.deliver { $0.from == "n2" }
        #expect(cluster["n1"].currentRole == .candidate, "2 of 5 votes is not a majority")

        cluster.deliver { $0.to == "n3" }
        cluster.deliver { $0.from == "n3" }
        #expect(cluster["n1"].currentRole == .leader, "3 of 5 votes is a majority")
        #expect(cluster["n1"].currentTerm == 2)
    }

    @Test("a candidate that receives AppendEntries from a leader of its own term becomes its follower")
    func candidateYieldsToLeaderOfSameTerm() {
        let cluster = TestCluster(size: 3, configure: Self.plain)
        cluster.campaign("n1")
        cluster.campaign("n2")
        // n3 hears n2 first and makes it leader of term 2; n1 is still a candidate of term 2.
        cluster.deliver { $0.from == "n2" && $0.to == "n3" }
        cluster.deliver { $0.from == "n3" && $0.to == "n2" }
        #expect(cluster["n2"].isLeader)
        #expect(cluster["n1"].currentRole == .candidate)

        cluster.deliver { $0.from == "n2" && $0.to == "n1" && $0.body.appendRequest != nil }
        #expect(cluster["n1"].currentRole == .follower)
        #expect(cluster["n1"].currentLeader == "n2")
        #expect(cluster["n1"].currentTerm == 2)
    }

    @Test("election timeouts are randomized between electionTicks and twice that")
    func electionTimeoutsAreRandomized() {
        let cluster = TestCluster(size: 5, configure: Self.plain)
        var timeouts: [Int] = []
        for id in cluster.ids {
            var ticks = 0
            while cluster[id].currentRole == .follower && ticks < 100 {
                cluster.tick(id)
                ticks += 1
            }
            timeouts.append(ticks)
        }
        #expect(timeouts.allSatisfy { (10..<20).contains($0) }, "\(timeouts)")
        #expect(Set(timeouts).count > 1, "all nodes picked the same timeout: \(timeouts)")
    }

    @Test("a split vote elects nobody in that term and is resolved by a later election")
    func splitVoteResolves() {
        let cluster = TestCluster(size: 4, configure: Self.plain)
        cluster.campaign("n1")
        cluster.campaign("n2")
        cluster.deliver { $0.from == "n1" && $0.to == "n3" }
        cluster.deliver { $0.from == "n2" && $0.to == "n4" }
        cluster.stabilize()
        #expect(cluster.leaders.isEmpty, "2 of 4 votes each: nobody has a majority")
        #expect(cluster["n1"].currentTerm == 2 && cluster["n2"].currentTerm == 2)

        for _ in 0..<60 where cluster.leaders.isEmpty { cluster.run(ticks: 1) }
        #expect(cluster.leaders.count == 1)
        #expect(cluster.leaders.allSatisfy { cluster[$0].currentTerm > 2 })
    }

    @Test("a node grants at most one vote per term (repeating it to the same candidate)")
    func votesAtMostOncePerTerm() {
        let cluster = TestCluster(size: 3, configure: Self.plain)
        cluster.inject(Self.vote(from: "n1", to: "n3", term: 2))
        cluster.inject(Self.vote(from: "n2", to: "n3", term: 2))
        cluster.inject(Self.vote(from: "n1", to: "n3", term: 2))
        let answers = cluster.drop { $0.from == "n3" }
        #expect(answers.map(\.to) == ["n1", "n2", "n1"])
        #expect(answers.map(\.body.voteGranted) == [true, false, true])
        #expect(cluster["n3"].status.vote == "n1")
    }

    struct UpToDateCase: Sendable, CustomTestStringConvertible {
        var lastTerm: UInt64
        var lastIndex: UInt64
        var granted: Bool
        var testDescription: String { "candidate last (term \(lastTerm), index \(lastIndex)) → \(granted ? "grant" : "refuse")" }
    }

    /// The voter's log ends at index 5 with term 3 (bootstrap 1–3 at term 1, then 4@2, 5@3).
    @Test("a vote (and a PreVote) is granted only to a candidate whose log is at least as up-to-date", arguments: [
        UpToDateCase(lastTerm: 2, lastIndex: 10, granted: false), // lower last term loses despite a longer log
        UpToDateCase(lastTerm: 3, lastIndex: 4, granted: false),  // same last term, shorter log
        UpToDateCase(lastTerm: 3, lastIndex: 5, granted: true),   // identical
        UpToDateCase(lastTerm: 3, lastIndex: 6, granted: true),   // same last term, longer log
        UpToDateCase(lastTerm: 4, lastIndex: 4, granted: true),   // higher last term wins despite a shorter log
    ])
    func upToDateRule(_ testCase: UpToDateCase) {
        let cluster = TestCluster(size: 3, configure: Self.plain) { id, storage in
            guard id == "n3" else { return }
            storage.append(entries(from: 4, terms: [2, 3]))
            storage.setHardState(HardState(term: 3, vote: nil, commit: 3))
        }
        cluster.inject(Message(from: "n1", to: "n3", term: 4,
                               body: .preVote(VoteRequest(lastLogIndex: testCase.lastIndex, lastLogTerm: testCase.lastTerm))))
        cluster.inject(Self.vote(from: "n1", to: "n3", term: 4, lastIndex: testCase.lastIndex, lastTerm: testCase.lastTerm))
        let answers = cluster.drop { $0.from == "n3" }
        #expect(answers.compactMap(\.body.preVoteGranted) == [testCase.granted])
        #expect(answers.compactMap(\.body.voteGranted) == [testCase.granted])
        #expect(cluster["n3"].status.vote == (testCase.granted ? "n1" : nil))
        #expect(cluster["n3"].currentTerm == 4, "the higher term is adopted either way")
    }

    @Test("a leader that sees a higher term in any message steps down and adopts the term")
    func higherTermDeposesLeader() {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.inject(Message(from: "n2", to: "n1", term: 7, body: .heartbeatResponse(HeartbeatResponse())))
        #expect(cluster["n1"].currentRole == .follower)
        #expect(cluster["n1"].currentTerm == 7)
        #expect(cluster["n1"].status.vote == nil)
        #expect(cluster.storages["n1"]!.hardState.term == 7)
    }

    @Test("a candidate that sees a higher-term AppendEntries becomes follower of that leader")
    func higherTermMakesCandidateFollow() {
        let cluster = TestCluster(size: 3, configure: Self.plain)
        cluster.campaign("n1")
        cluster.drop()
        cluster.inject(Message(from: "n3", to: "n1", term: 5,
                               body: .append(AppendRequest(prevLogIndex: 3, prevLogTerm: 1, entries: [], leaderCommit: 3))))
        #expect(cluster["n1"].currentRole == .follower)
        #expect(cluster["n1"].currentTerm == 5)
        #expect(cluster["n1"].currentLeader == "n3")
    }

    @Test("stale-term AppendEntries are rejected and the reply deposes the stale leader; stale vote requests are refused")
    func staleTermMessagesAreRejected() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n1")
        // n2 and n3 stop hearing from n1 and elect a leader of term 3 among themselves.
        for _ in 0..<60 where cluster.leaders.allSatisfy({ $0 == "n1" }) { cluster.run(ticks: 1, except: ["n1"]) }
        let newLeader = try #require(cluster.leaders.first { $0 != "n1" })
        #expect(cluster[newLeader].currentTerm == 3)

        // n1 still believes it leads term 2 and replicates a proposal.
        _ = try cluster.propose("n1", payload("stale"))
        cluster.heal()
        cluster.deliver { $0.from == "n1" && $0.body.appendRequest != nil }
        for id: NodeID in ["n2", "n3"] {
            #expect(!cluster.log(of: id).contains { $0.data == payload("stale") }, "\(id) accepted a stale entry")
        }
        cluster.deliver { $0.to == "n1" }
        #expect(cluster["n1"].currentRole == .follower)
        #expect(cluster["n1"].currentTerm == 3)

        // A vote request of an old term is refused whatever the candidate's log.
        let voteBefore = cluster["n2"].status.vote
        cluster.inject(Self.vote(from: "n1", to: "n2", term: 2, lastIndex: 100, lastTerm: 2))
        #expect(cluster.drop { $0.from == "n2" && $0.body.voteGranted == true }.isEmpty)
        #expect(cluster["n2"].status.vote == voteBefore)
        #expect(cluster["n2"].currentTerm == 3)
    }
}
