/// Leadership transfer (dissertation 3.10): the leader brings the target's log up to date,
/// then tells it to start an election at once (TimeoutNow). Proposals are refused while a
/// transfer is under way, and it is abandoned after an election timeout.
extension RaftNode {
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard target != id, conf.isVoter(target), progress[target] != nil else { throw .unknownTransferTarget }
        if leadTransferee == target { return }
        leadTransferee = target
        // The transfer gets one election timeout from now.
        electionElapsed = 0
        if progress[target]!.match == log.lastIndex {
            send(.timeoutNow, to: target)
        } else {
            sendAppend(to: target, sendIfEmpty: true)
        }
    }

    /// Called after `peer` acknowledged entries: once the target has everything, let it go.
    mutating func continueLeadershipTransfer(after peer: NodeID) {
        guard peer == leadTransferee, progress[peer]?.match == log.lastIndex else { return }
        send(.timeoutNow, to: peer)
    }

    mutating func abortLeadershipTransferIfTimedOut() {
        leadTransferee = nil
    }

    mutating func handleTimeoutNow(from: NodeID) {
        // Skips PreVote: the leader asked for this election, and the vote requests say so
        // to get past followers' leader-lease protection.
        startElection(isTransfer: true)
    }
}
