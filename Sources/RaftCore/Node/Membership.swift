/// Membership changes, one server at a time (dissertation chapter 4).
///
/// Adding or removing a single voter keeps every majority of the old configuration
/// overlapping every majority of the new one, so two leaders of one term cannot arise. Two
/// rules keep that true:
/// - at most one change is in flight: a new change is refused until the previous one has
///   been applied;
/// - a new leader accepts no change until an entry of its own term has been applied
///   (`pendingConfIndex` starts at the leader's last index), which closes the known gap
///   in the single-server algorithm when leadership changes mid-change.
///
/// A change takes effect on each node when that node applies the entry (as in
/// etcd-io/raft), so the configuration always matches the applied state that snapshots
/// capture. The leader that removes itself steps down once the change is applied.
extension RaftNode {
    public mutating func proposeConfChange(_ change: ConfChange) throws(RaftError) -> ProposalReceipt {
        try checkCanPropose(bytes: 0)
        guard pendingConfIndex <= log.applied else { throw .configChangeInProgress }
        try validate(change)
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .configChange, data: change.encoded())
        appendAsLeader([entry])
        pendingConfIndex = entry.index
        return ProposalReceipt(index: entry.index, term: entry.term)
    }

    private func validate(_ change: ConfChange) throws(RaftError) {
        switch change.kind {
        case .addLearner:
            if conf.isVoter(change.node) { throw .invalidConfChange("\(change.node) is already a voter") }
        case .addVoter:
            break
        case .remove:
            if !conf.isMember(change.node) { throw .invalidConfChange("\(change.node) is not a member") }
            if conf.voters == [change.node] { throw .invalidConfChange("cannot remove the last voter") }
        }
    }

    /// Whether `peer` holds every entry the leader has, give or take `lag` (a learner ready
    /// for promotion). It must also have answered at all, and within the last election
    /// timeout: in a young log a lag allowance alone would vouch for a learner that never
    /// answered, and promoting it would add a voter that cannot vote.
    public func isCaughtUp(_ peer: NodeID, within lag: UInt64 = 0) -> Bool {
        guard role == .leader, let pr = progress[peer], pr.match > 0,
              pr.ticksSinceContact < config.electionTicks else { return false }
        return pr.match + lag >= log.lastIndex
    }

    /// Applies a committed configuration entry (called as the application applies it).
    mutating func applyConfChange(_ entry: Entry) {
        guard let change = ConfChange(decoding: entry.data) else { return }
        conf = change.applied(to: conf)
        reads.acknowledged = reads.acknowledged.filter { conf.isVoter($0.key) }
        if leadTransferee.map({ !conf.isVoter($0) }) == true { leadTransferee = nil }
        guard role == .leader else { return }

        if !conf.isVoter(id) {
            // The change that removed us is applied: hand the cluster to the others.
            becomeFollower(term: term, leader: nil)
            return
        }
        for member in conf.members where progress[member] == nil {
            progress[member] = newProgress(for: member)
        }
        for member in Array(progress.keys) {
            if conf.isMember(member) {
                progress[member]!.isLearner = !conf.isVoter(member)
            } else {
                progress[member] = nil
            }
        }
        // A smaller majority may already hold more entries.
        maybeCommit()
        needsBroadcast = true
    }
}
