/// The membership of the cluster: who votes and who only follows the log.
public struct ConfState: Sendable, Equatable {
    public var voters: Set<NodeID>
    /// Learners receive the log but never vote and never count toward a quorum.
    public var learners: Set<NodeID>

    public init(voters: Set<NodeID> = [], learners: Set<NodeID> = []) {
        self.voters = voters
        self.learners = learners
    }

    public var members: Set<NodeID> { voters.union(learners) }

    public func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    public func isMember(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }

    /// The number of votes that makes a majority of the voters.
    public var quorum: Int { voters.count / 2 + 1 }
}

/// One membership change. Only one change is in flight at a time (single-server changes),
/// which keeps any two consecutive configurations' majorities overlapping.
public struct ConfChange: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, Equatable {
        /// Add a non-voting member that starts receiving the log.
        case addLearner = 0
        /// Turn a learner (or an unknown node) into a voter.
        case addVoter = 1
        /// Remove a voter or learner, including the leader itself.
        case remove = 2
    }

    public var kind: Kind
    public var node: NodeID
    /// Opaque application data carried with the change (for example the node's addresses).
    public var context: [UInt8]

    public init(kind: Kind, node: NodeID, context: [UInt8] = []) {
        self.kind = kind
        self.node = node
        self.context = context
    }

    /// Returns the configuration after this change.
    public func applied(to conf: ConfState) -> ConfState {
        var next = conf
        switch kind {
        case .addLearner:
            if !next.voters.contains(node) { next.learners.insert(node) }
        case .addVoter:
            next.learners.remove(node)
            next.voters.insert(node)
        case .remove:
            next.learners.remove(node)
            next.voters.remove(node)
        }
        return next
    }
}
