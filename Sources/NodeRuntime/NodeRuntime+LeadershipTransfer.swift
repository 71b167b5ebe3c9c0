import RaftCore

/// Moving leadership to another voter on request (`POST /cluster/transfer-leader`), before
/// maintenance on the leader's machine. RaftCore does the work (dissertation 3.10); this
/// decides what may be asked and waits until the target leads.
extension NodeRuntime {
    /// Hands leadership to `target` and returns the term in which it leads, once this node
    /// has heard from it as leader. Leader only (elsewhere `.notLeader` names the leader);
    /// asking for the current leader answers at once.
    ///
    /// A learner, or a voter that is not caught up within an election timeout (it lags by
    /// more than a learner may before promotion, or does not answer), is `.conflict`: a
    /// transfer to it would only stall writes until it gives up. No leader change within the
    /// request timeout is `.unavailable`; the old leader then leads on (RaftCore abandons a
    /// transfer after an election timeout).
    public func transferLeadership(to target: NodeID) async throws(RuntimeError) -> UInt64 {
        if target == config.id && raft.isLeader { return raft.status.term }
        if raft.currentLeader == target && !raft.isLeader { return raft.status.term }
        guard raft.isLeader else { throw .notLeader(leader: raft.currentLeader, address: leaderAddress) }
        let conf = raft.configuration
        guard conf.isMember(target) else { throw .notFound("no member named \(target)") }
        guard conf.isVoter(target) else { throw .conflict("\(target) is a learner: only a voter can lead") }
        // Just after an election the leader has not yet heard how far anyone got: give the
        // target an election timeout to show it is caught up before calling it lagging.
        let catchUp = ContinuousClock.now.advanced(by: .milliseconds(config.electionTicks * config.tickMilliseconds))
        while !raft.isCaughtUp(target, within: config.promotionLag) {
            try await pause(until: catchUp, reason: .conflict("\(target) is not caught up with the leader's log (or not answering); try again once it is"))
            guard !isStopped else { throw .shuttingDown }
            guard raft.isLeader else { throw .notLeader(leader: raft.currentLeader, address: leaderAddress) }
        }
        do {
            try raft.transferLeadership(to: target)
        } catch {
            throw RuntimeError(error)
        }
        wake()
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        while true {
            guard !isStopped else { throw .shuttingDown }
            if raft.currentLeader == target && !raft.isLeader { return raft.status.term }
            try await pause(until: deadline, reason: .unavailable("\(target) did not take over within the request timeout; \(config.id) still leads or an election is under way"))
        }
    }
}
