import Launcher
import Testing

@Suite struct QuorumTests {
    let three = Set(["node1", "node2", "node3"].compactMap(NodeID.init))
    func ids(_ names: String...) -> Set<NodeID> { Set(names.compactMap(NodeID.init)) }

    @Test func stoppingOneOfThreeKeepsQuorum() {
        let q = QuorumAssessment.assess(.stop, target: NodeID("node1")!, voters: three, up: three)
        #expect(q.keepsQuorum)
        #expect(q.votersUpAfter == 2)
        #expect(q.message == "2 of 3 voters stay up: writes continue.")
    }

    @Test func stoppingASecondOfThreeLosesQuorum() {
        let q = QuorumAssessment.assess(.kill, target: NodeID("node2")!, voters: three, up: ids("node2", "node3"))
        #expect(!q.keepsQuorum)
        #expect(q.votersUpAfter == 1)
        #expect(q.message.hasPrefix("1 of 3 voters stay up: the cluster loses quorum (needs 2)"))
    }

    @Test func stoppingANodeThatIsAlreadyDownChangesNothing() {
        let q = QuorumAssessment.assess(.stop, target: NodeID("node1")!, voters: three, up: ids("node2", "node3"))
        #expect(q.keepsQuorum)
    }

    @Test func decommissioningShrinksTheConfiguration() {
        let healthy = QuorumAssessment.assess(.delete, target: NodeID("node3")!, voters: three, up: three)
        #expect(healthy.keepsQuorum)
        #expect(healthy.votersAfter == 2)
        #expect(healthy.message == "2 of 2 remaining voters are up: writes continue.")
        // One voter down already: removing a live one leaves 1 of 2.
        let risky = QuorumAssessment.assess(.delete, target: NodeID("node3")!, voters: three, up: ids("node1", "node3"))
        #expect(!risky.keepsQuorum)
        // Removing the dead one leaves 2 of 2.
        let dead = QuorumAssessment.assess(.delete, target: NodeID("node2")!, voters: three, up: ids("node1", "node3"))
        #expect(dead.keepsQuorum)
    }

    @Test func removalNeedsQuorumNow() {
        let q = QuorumAssessment.assess(.delete, target: NodeID("node3")!, voters: three, up: ids("node3"))
        #expect(!q.keepsQuorum)
        #expect(q.message.contains("no quorum now"))
    }

    @Test func learnersDoNotCount() {
        let q = QuorumAssessment.assess(.kill, target: NodeID("node4")!, voters: three, up: three.union(ids("node4")))
        #expect(q.keepsQuorum)
        #expect(!q.targetIsVoter)
        #expect(q.votersUpAfter == 3)
    }

    @Test func fiveVotersTolerateTwoFailures() {
        let five = ids("a", "b", "c", "d", "e")
        #expect(QuorumAssessment.assess(.pause, target: NodeID("c")!, voters: five, up: ids("a", "b", "c", "d")).keepsQuorum)
        #expect(!QuorumAssessment.assess(.pause, target: NodeID("c")!, voters: five, up: ids("a", "b", "c")).keepsQuorum)
    }
}
