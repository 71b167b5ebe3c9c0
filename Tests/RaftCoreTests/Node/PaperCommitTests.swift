import RaftCore
import Testing

/// The commitment rule of sections 5.3–5.4.2, built as the paper's Figure 8 step by step.
///
/// Five voters n1…n5 (the paper's S1…S5) start with the bootstrap entries 1–5 at term 1,
/// so the paper's "index 2" is index 7 here. PreVote and CheckQuorum are off (the plain
/// algorithm of the paper), and every AppendEntries carries one entry so each index can
/// be delivered or withheld separately.
@Suite("Paper §5.4.2: commitment (Figure 8)")
struct PaperCommitTests {
    static func carries(_ index: UInt64) -> (Message) -> Bool {
        { $0.body.appendRequest?.entries.contains { $0.index == index } == true }
    }

    /// Runs Figure 8 up to (c): n1 leads term 4; its term-2 entry at index 7 is stored on
    /// n1, n2 and n3 (a majority) and the leader knows it; its term-4 entry at 8 is on n1
    /// and n2 only.
    static func figure8UpToC() throws -> TestCluster {
        let cluster = TestCluster(size: 5) {
            $0.preVote = false
            $0.checkQuorum = false
            $0.maxMessageBytes = 1
        }
        // (a) n1 wins term 2 with n2 and n3, then replicates its no-op (6) and "x" (7) to n2 only.
        cluster.campaign("n1")
        cluster.deliver { $0.body.voteRequest != nil }
        cluster.deliver { $0.to == "n1" && ($0.from == "n2" || $0.from == "n3") }
        cluster.drop { $0.to == "n1" }
        try #require(cluster["n1"].isLeader && cluster["n1"].currentTerm == 2)
        for other: NodeID in ["n3", "n4", "n5"] { cluster.cut("n1", other) }
        _ = try cluster.propose("n1", payload("x"))
        cluster.stabilize()
        try #require(cluster.log(of: "n2").last?.index == 7 && cluster["n1"].commitIndex == 5)

        // (b) n1 crashes; n5 wins term 3 with n3 and n4; its no-op (6 at term 3) reaches nobody.
        cluster.heal()
        cluster.isolate("n1")
        cluster.campaign("n5")
        cluster.deliver { $0.body.voteRequest != nil }
        cluster.deliver { $0.to == "n5" }
        try #require(cluster["n5"].isLeader && cluster["n5"].currentTerm == 3)
        cluster.drop()

        // (c) n5 crashes, n1 restarts and wins term 4 with n2 and n3 (after a failed try in 3).
        cluster.heal()
        cluster.isolate("n4")
        cluster.isolate("n5")
        cluster.restart("n1")
        cluster.campaign("n1")
        cluster.drop()
        cluster.campaign("n1")
        cluster.deliver { $0.body.voteRequest != nil }
        cluster.deliver { $0.to == "n1" }
        try #require(cluster["n1"].isLeader && cluster["n1"].currentTerm == 4)
        // n2 gets the term-4 no-op (8); n3 gets 6 and 7 (term 2) but never 8.
        while !cluster.deliver(where: { ($0.from == "n1" && $0.to == "n2") || ($0.from == "n2" && $0.to == "n1") }).isEmpty {}
        // n3 lacks 7, so the first probe (7 → 8) is rejected and the leader backs up to 6.
        cluster.deliver { $0.to == "n3" }
        let towardN3: (Message) -> Bool = { ($0.from == "n1" && $0.to == "n3" && !carries(8)($0)) || ($0.from == "n3" && $0.to == "n1") }
        while !cluster.deliver(where: towardN3).isEmpty {}
        cluster.drop(where: carries(8))
        try #require(cluster.term(of: "n3", at: 7) == 2 && cluster.term(of: "n3", at: 8) == nil)
        return cluster
    }

    @Test("an entry of an earlier term stored on a majority is not committed by counting replicas")
    func previousTermEntryIsNotCommittedByCount() throws {
        let cluster = try Self.figure8UpToC()
        for id: NodeID in ["n1", "n2", "n3"] {
            #expect(cluster.term(of: id, at: 7) == 2, "\(id) should hold the term-2 entry at 7")
        }
        let progress = cluster["n1"].status.progress
        #expect(progress["n2"]?.matchIndex == 8 && progress["n3"]?.matchIndex == 7, "the leader knows a majority holds 7")
        #expect(cluster["n1"].commitIndex == 5, "7 is from term 2 and may still be overwritten")
        #expect(!cluster.applied["n1"]!.contains { $0.index >= 6 })
    }

    @Test("Figure 8 (d): the uncommitted term-2 entry on a majority is overwritten by a later leader")
    func figure8OverwriteShowsWhyCountingIsUnsafe() throws {
        let cluster = try Self.figure8UpToC()
        // n1 crashes; n5 restarts and (its last entry has term 3) wins term 5 with n3 and n4 after a failed try in 4.
        cluster.heal()
        cluster.isolate("n1")
        cluster.restart("n5")
        cluster.campaign("n5")
        cluster.drop()
        cluster.campaign("n5")
        cluster.stabilize()
        try #require(cluster["n5"].isLeader && cluster["n5"].currentTerm == 5)
        cluster.run(ticks: 2, except: ["n1"])
        #expect(cluster.term(of: "n3", at: 7) == 5, "n3's term-2 entry at 7 was replaced")
        #expect(cluster["n5"].commitIndex >= 7)
        let committedSeven = cluster.applied["n5"]!.first { $0.index == 7 }
        #expect(committedSeven?.term == 5, "index 7 is committed with a different entry than n1's \"x\"")
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }

    @Test("Figure 8 (e): once an entry of the current term reaches a majority, the earlier-term entries before it commit too")
    func previousTermEntryCommitsWithCurrentTermEntry() throws {
        let cluster = try Self.figure8UpToC()
        cluster.run(ticks: 4, except: ["n4", "n5"])
        #expect(cluster.term(of: "n3", at: 8) == 4)
        #expect(cluster["n1"].commitIndex == 8)
        let applied = cluster.applied["n1"]!.filter { $0.index > 5 }
        #expect(applied.map(\.index) == [6, 7, 8])
        #expect(applied.map(\.term) == [2, 2, 4])
        #expect(applied[1].data == payload("x"))
        #expect(cluster.contractViolations.isEmpty, "\(cluster.contractViolations)")
    }
}
