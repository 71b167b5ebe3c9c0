import KVStore
import RaftCore
import Transport

/// Joining, promotion and removal, and keeping the transport's address book in step with
/// the replicated configuration.
extension NodeRuntime {
    /// A member as the API reports it.
    public struct MemberInfo: Sendable, Equatable {
        public var id: NodeID
        public var address: MemberAddress

        public init(id: NodeID, address: MemberAddress) {
            self.id = id
            self.address = address
        }
    }

    /// Admits `id` as a learner (leader only: elsewhere `.notLeader` names the leader). The
    /// leader promotes it to voter on its own once it has caught up. Joining again with the
    /// same addresses is harmless.
    public func join(id: NodeID, address: MemberAddress) async throws(RuntimeError) -> [MemberInfo] {
        try requireLeadership()
        let conf = raft.configuration
        if conf.isMember(id) {
            guard members[id] == address else {
                throw .conflict("a member named \(id) already exists with addresses \(members[id]?.text ?? "unknown")")
            }
            return memberList()
        }
        if let clash = members.first(where: { $0.key != id && ($0.value.raft == address.raft || $0.value.api == address.api) }) {
            throw .conflict("member \(clash.key) already uses one of these addresses")
        }
        try await changeMembership(ConfChange(kind: .addLearner, node: id, context: address.context))
        return memberList()
    }

    /// Removes `id` from the configuration (leader only: elsewhere `.notLeader` names the
    /// leader); the leader may remove itself.
    public func remove(id: NodeID) async throws(RuntimeError) {
        try requireLeadership()
        guard raft.configuration.isMember(id) else { throw .notFound("no member named \(id)") }
        try await changeMembership(ConfChange(kind: .remove, node: id))
    }

    /// Seeds the address book from a join answer, so a newcomer can answer the leader
    /// before it has replicated the configuration that names everyone.
    public func learnPeers(_ peers: [MemberInfo]) {
        for peer in peers where peer.id != config.id && members[peer.id] == nil {
            members[peer.id] = peer.address
        }
        updateTransportPeers()
    }

    func memberList() -> [MemberInfo] {
        var all = members
        all[config.id] = config.address
        return all.filter { raft.configuration.isMember($0.key) }.sorted { $0.key < $1.key }
            .map { MemberInfo(id: $0.key, address: $0.value) }
    }

    private func changeMembership(_ change: ConfChange) async throws(RuntimeError) {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        while true {
            guard !isStopped else { throw .shuttingDown }
            try requireLeadership()
            let receipt: ProposalReceipt
            do {
                receipt = try raft.proposeConfChange(change)
            } catch .configChangeInProgress {
                try await pause(until: deadline, reason: .conflict("another membership change is in progress"))
                continue
            } catch {
                throw RuntimeError(error)
            }
            if case .applied = try await awaitApplied(receipt, deadline: deadline) { return }
        }
    }

    private func requireLeadership() throws(RuntimeError) {
        guard !raft.isLeader else { return }
        throw .notLeader(leader: raft.currentLeader, address: leaderAddress)
    }

    /// A membership entry was applied: refresh addresses and the transport's peers.
    func membershipApplied(_ change: ConfChange) {
        switch change.kind {
        case .addLearner, .addVoter:
            if let address = MemberAddress(context: change.context) { members[change.node] = address }
        case .remove:
            members[change.node] = nil
            if change.node == config.id {
                logger.notice("this node was removed from the cluster")
            }
        }
        logger.info("membership changed", metadata: ["change": "\(change.kind)", "node": "\(change.node)"])
        updateTransportPeers()
    }

    /// After a snapshot install the membership table was replaced wholesale.
    func reloadMembers() {
        guard let records = try? store.stateMachine.members() else { return }
        var known: [NodeID: MemberAddress] = [:]
        for record in records {
            if let address = MemberAddress(context: record.context) { known[record.id] = address }
        }
        members = known
        updateTransportPeers()
    }

    func updateTransportPeers() {
        var book: [NodeID: PeerAddress] = [:]
        for (id, address) in members where id != config.id { book[id] = address.raft.peerAddress }
        transport.setPeers(book)
    }

    /// The leader promotes learners that have caught up, one change at a time.
    func promoteCaughtUpLearners() {
        guard raft.isLeader else { return }
        for learner in raft.configuration.learners.sorted() where raft.isCaughtUp(learner, within: config.promotionLag) {
            if (try? raft.proposeConfChange(ConfChange(kind: .addVoter, node: learner))) != nil {
                logger.info("promoting caught-up learner", metadata: ["node": "\(learner)"])
                wake()
            }
            return
        }
    }
}
