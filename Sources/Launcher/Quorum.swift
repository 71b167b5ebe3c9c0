/// The actions that take a node out of the cluster, for the quorum check.
public enum DisruptiveAction: String, Sendable, Codable, CaseIterable {
    case stop, kill, pause, restart, delete

    var pastTense: String {
        switch self {
        case .stop: "stopped"
        case .kill: "killed"
        case .pause: "paused"
        case .restart: "restarted"
        case .delete: "decommissioned"
        }
    }
}

/// Whether the cluster keeps a majority of its voters if one node goes away.
///
/// Pure so the rule can be tested exhaustively; the controller feeds it the voters from the
/// leader's member list and the set of voters whose process runs and answers.
public struct QuorumAssessment: Codable, Sendable, Equatable {
    public var action: DisruptiveAction
    public var node: String
    public var targetIsVoter: Bool
    public var voters: Int
    public var votersUp: Int
    /// Voters in the configuration after the action (one fewer for a decommissioned voter).
    public var votersAfter: Int
    public var votersUpAfter: Int
    public var hasQuorumNow: Bool
    public var keepsQuorum: Bool
    public var message: String

    enum CodingKeys: String, CodingKey {
        case action, node, voters, message
        case targetIsVoter = "target_is_voter"
        case votersUp = "voters_up"
        case votersAfter = "voters_after"
        case votersUpAfter = "voters_up_after"
        case hasQuorumNow = "has_quorum_now"
        case keepsQuorum = "keeps_quorum"
    }

    public static func majority(of voters: Int) -> Int { voters / 2 + 1 }

    public static func assess(
        _ action: DisruptiveAction, target: NodeID, voters: Set<NodeID>, up: Set<NodeID>
    ) -> QuorumAssessment {
        let upVoters = up.intersection(voters)
        let isVoter = voters.contains(target)
        let votersAfter = action == .delete && isVoter ? voters.count - 1 : voters.count
        let upAfter = upVoters.subtracting([target]).count
        let hasQuorumNow = !voters.isEmpty && upVoters.count >= majority(of: voters.count)
        // Removing a voter is itself a configuration change that the current majority must commit.
        let keeps: Bool
        if !isVoter {
            keeps = hasQuorumNow || voters.isEmpty
        } else if action == .delete {
            keeps = hasQuorumNow && votersAfter > 0 && upAfter >= majority(of: votersAfter)
        } else {
            keeps = upAfter >= majority(of: voters.count)
        }
        let message = describe(
            action, target: target, isVoter: isVoter, voters: voters.count, votersAfter: votersAfter,
            upAfter: upAfter, hasQuorumNow: hasQuorumNow, keeps: keeps)
        return QuorumAssessment(
            action: action, node: target.rawValue, targetIsVoter: isVoter, voters: voters.count,
            votersUp: upVoters.count, votersAfter: votersAfter, votersUpAfter: upAfter,
            hasQuorumNow: hasQuorumNow, keepsQuorum: keeps, message: message)
    }

    private static func describe(
        _ action: DisruptiveAction, target: NodeID, isVoter: Bool, voters: Int, votersAfter: Int,
        upAfter: Int, hasQuorumNow: Bool, keeps: Bool
    ) -> String {
        if !isVoter {
            return hasQuorumNow || voters == 0
                ? "\(target) is not a voter: quorum is unaffected."
                : "\(target) is not a voter, but the cluster has no quorum now: writes are already stopped."
        }
        if action == .delete && !hasQuorumNow {
            return "The cluster has no quorum now: the removal of \(target) cannot be committed."
        }
        let phrase = action == .delete ? "of \(votersAfter) remaining voters are up" : "of \(voters) voters stay up"
        let head = "\(upAfter) \(phrase)"
        if keeps { return "\(head): writes continue." }
        let needed = majority(of: action == .delete ? votersAfter : voters)
        return "\(head): the cluster loses quorum (needs \(needed)) and stops accepting writes"
            + (action == .restart ? " until \(target) is back." : " until a voter returns.")
    }
}
