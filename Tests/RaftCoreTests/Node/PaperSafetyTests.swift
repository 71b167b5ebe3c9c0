import RaftCore
import Testing

/// The safety properties of section 5.4 (Figure 3) checked on whole runs, and the
/// persistence contract that they depend on across crashes.
@Suite("Paper §5.4: safety and persistence")
struct PaperSafetyTests {
    /// Log Matching: if two logs hold an entry with the same index and term, they are
    /// identical up to and including that index.
    static func logMatchingViolations(_ cluster: TestCluster) -> [String] {
        var problems: [String] = []
        for a in cluster.ids {
            for b in cluster.ids where a < b {
                let logA = cluster.log(of: a), logB = cluster.log(of: b)
                for entry in logA {
                    guard let other = logB.first(where: { $0.index == entry.index }), other.term == entry.term else { continue }
                    let prefixA = logA.filter { $0.index <= entry.index }
                    let prefixB = logB.filter { $0.index <= entry.index && $0.index >= prefixA.first!.index }
                    if Array(prefixA.suffix(prefixB.count)) != prefixB {
                        problems.append("\(a) and \(b) agree on term \(entry.term) at \(entry.index) but differ before it")
                    }
                }
            }
        }
        return problems
    }

    @Test("a newly elected leader holds every committed entry, and a node missing them cannot win")
    func leaderCompleteness() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        cluster.isolate("n3")
        for i in 0..<3 { _ = try cluster.propose("n1", payload("c\(i)")) }
        cluster.stabilize()
        let committed = cluster.log(of: "n1").filter { $0.index <= cluster["n1"].commitIndex }
        #expect(committed.count == 7)

        // n1 disappears; n3 (missing the last three committed entries) rejoins n2.
        cluster.heal()
        cluster.isolate("n1")
        cluster.campaign("n3")
        for _ in 0..<80 where !cluster.leaders.contains(where: { $0 != "n1" }) { cluster.run(ticks: 1, except: ["n1"]) }
        let newLeader = try #require(cluster.leaders.first { $0 != "n1" })
        #expect(newLeader == "n2", "only n2 holds every committed entry")
        #expect(!cluster.readies["n3"]!.contains { $0.softState?.role == .leader })
        let leaderLog = cluster.log(of: newLeader)
        #expect(committed.allSatisfy { leaderLog.contains($0) })
    }

    @Test("across leader changes with partial replication, logs match, applied sequences agree, and each term has one leader")
    func safetyUnderChurn() throws {
        let cluster = TestCluster(size: 5)
        for round in 0..<10 {
            cluster.heal()
            for _ in 0..<60 where cluster.leaders.count != 1 { cluster.run(ticks: 1) }
            cluster.run(ticks: 2)
            let leader = try #require(cluster.leaders.first)
            _ = try? cluster.propose(leader, payload("r\(round)a"))
            _ = try? cluster.propose(leader, payload("r\(round)b"))
            // Only one follower hears about the new entries before the leader is cut off.
            let lucky = cluster.ids.filter { $0 != leader }[round % 4]
            cluster.deliver { $0.from == leader && $0.to == lucky }
            cluster.drop { $0.from == leader }
            cluster.isolate(leader)
            for _ in 0..<60 where !cluster.leaders.contains(where: { $0 != leader }) { cluster.run(ticks: 1, except: [leader]) }
            let successor = cluster.leaders.first { $0 != leader }
            if let successor { _ = try? cluster.propose(successor, payload("r\(round)c")) }
            cluster.run(ticks: 2, except: [leader])
        }
        cluster.heal()
        cluster.run(ticks: 40)

        #expect(Self.logMatchingViolations(cluster).isEmpty, "\(Self.logMatchingViolations(cluster))")
        // State Machine Safety: every node applied a prefix of the same sequence.
        let sequences = cluster.ids.map { cluster.applied[$0]!.map { [$0.index, $0.term] } }
        let longest = sequences.max { $0.count < $1.count }!
        #expect(sequences.allSatisfy { Array(longest.prefix($0.count)) == $0 })
        #expect(longest.count > 20, "the run should have committed work")
        // Election Safety: at most one node sent AppendEntries or heartbeats in any term.
        var leadersByTerm: [UInt64: Set<NodeID>] = [:]
        for message in cluster.sent where message.body.appendRequest != nil || message.body.heartbeat != nil {
            leadersByTerm[message.term, default: []].insert(message.from)
        }
        #expect(leadersByTerm.values.allSatisfy { $0.count == 1 }, "\(leadersByTerm)")
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("the Ready that grants a vote carries the persisted vote, and acknowledged entries were handed out for persisting first")
    func readyCarriesStateBeforeDependentMessages() throws {
        let cluster = TestCluster(size: 3) { $0.preVote = false }
        cluster.campaign("n1")
        cluster.deliver { $0.to == "n2" }
        let grantReady = try #require(cluster.readies["n2"]!.last { $0.messages.contains { $0.body.voteGranted == true } })
        #expect(grantReady.hardState?.vote == "n1" && grantReady.hardState?.term == 2)
        #expect(grantReady.mustSync)
        let requestReady = try #require(cluster.readies["n1"]!.first { $0.messages.contains { $0.body.voteRequest != nil } })
        #expect(requestReady.hardState?.term == 2 && requestReady.hardState?.vote == "n1",
                "a candidate's own vote is persisted before it asks for votes")

        cluster.stabilize()
        _ = try cluster.propose("n1", payload("durable"))
        cluster.stabilize()
        // Every success acknowledgement n2 sent was preceded (or accompanied) by the entries.
        var handedOut: UInt64 = 0
        for ready in cluster.readies["n2"]! {
            handedOut = max(handedOut, ready.entries.last?.index ?? 0)
            for ack in ready.messages.compactMap(\.body.appendResponse) where ack.success {
                #expect(ack.index <= max(handedOut, 4), "acknowledged \(ack.index) before handing it out")
            }
        }
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("a node restarted over its MemoryStorage keeps its term, vote, log, commit index and membership")
    func restartKeepsPersistentState() throws {
        let cluster = TestCluster(size: 3)
        #expect(cluster.elect("n1"))
        for i in 0..<2 { _ = try cluster.propose("n1", payload("p\(i)")) }
        cluster.stabilize()
        let before = cluster["n2"].status
        let logBefore = cluster.log(of: "n2")
        let appliedBefore = cluster.applied["n2"]!.count

        cluster.restart("n2")
        let after = cluster["n2"].status
        #expect(after.term == before.term && after.term == 2)
        #expect(after.vote == before.vote && after.vote == "n1")
        #expect(after.lastIndex == before.lastIndex)
        #expect(after.commitIndex == before.commitIndex)
        #expect(after.conf.voters == ["n1", "n2", "n3"])
        #expect(cluster.log(of: "n2") == logBefore)
        #expect(cluster.applied["n2"]!.count == appliedBefore, "applied entries are not handed out again")

        _ = try cluster.propose("n1", payload("after restart"))
        cluster.stabilize()
        #expect(cluster.log(of: "n2") == cluster.log(of: "n1"))
    }

    @Test("a node that voted and restarted does not vote for a different candidate in the same term")
    func restartRemembersVote() {
        let cluster = TestCluster(size: 3) { $0.preVote = false }
        cluster.campaign("n1")
        cluster.deliver { $0.to == "n3" }
        cluster.drop()
        cluster.restart("n3")
        #expect(cluster["n3"].status.vote == "n1")

        cluster.campaign("n2")
        #expect(cluster["n2"].currentTerm == 2)
        cluster.deliver { $0.to == "n3" }
        let answers = cluster.drop { $0.from == "n3" }
        #expect(answers.map(\.body.voteGranted) == [false])
    }
}
