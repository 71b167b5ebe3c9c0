/// Leader election (section 5.2), with PreVote (dissertation 9.6) and CheckQuorum.
extension RaftNode {
    /// Advances logical time by one tick.
    public mutating func tick() {
        if role == .leader {
            tickLeader()
        } else {
            tickElection()
        }
    }

    /// Starts an election now (PreVote first when enabled), as if the timer had fired.
    public mutating func campaign() {
        startElection(isTransfer: false)
    }

    private mutating func tickElection() {
        electionElapsed += 1
        // "If election timeout elapses without receiving AppendEntries RPC from current
        // leader or granting vote to candidate: convert to candidate."
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            startElection(isTransfer: false)
        }
    }

    private mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        leaderTicks += 1
        for peer in progress.keys where peer != id { progress[peer]!.ticksSinceContact += 1 }
        tickSnapshotSends()

        if electionElapsed >= config.electionTicks {
            electionElapsed = 0
            abortLeadershipTransferIfTimedOut()
        }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            if config.checkQuorum && !hasFreshQuorum() {
                // A leader cut off from a majority steps down so clients look elsewhere.
                becomeFollower(term: term, leader: nil)
                return
            }
            reprobeStalledFollowers()
            broadcastHeartbeat()
        }
    }

    /// CheckQuorum on fresh evidence only: a majority of voters (counting ourselves) answered
    /// a heartbeat sent within the last election timeout. Any other message proves nothing
    /// about now: after a partition heals, answers sent long before arrive all at once, and
    /// counting them kept a cut-off leader in office for seconds. Checked at every heartbeat,
    /// so a leader steps down within an election timeout (and one heartbeat interval) of the
    /// heartbeat its last fresh answer was to.
    private func hasFreshQuorum() -> Bool {
        let windowStart = leaderTicks > UInt64(config.electionTicks) ? leaderTicks - UInt64(config.electionTicks) : 0
        var active = 0
        for voter in conf.voters {
            if voter == id || (progress[voter]?.answeredHeartbeatSentAt ?? 0) >= windowStart { active += 1 }
        }
        return active >= conf.quorum
    }

    mutating func startElection(isTransfer: Bool) {
        // A term at the very top of the range has no successor to campaign in.
        guard isPromotable, role != .leader, term < UInt64.max else { return }
        runElection(preVote: config.preVote && !isTransfer, isTransfer: isTransfer)
    }

    private mutating func runElection(preVote: Bool, isTransfer: Bool) {
        if preVote {
            becomePreCandidate()
        } else {
            becomeCandidate()
        }
        // We vote for ourselves; a single-voter cluster wins right here.
        recordVote(from: id, granted: true)
        guard role == (preVote ? .preCandidate : .candidate) else { return }

        let request = VoteRequest(lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm, isLeadershipTransfer: isTransfer)
        for voter in conf.voters.sorted() where voter != id {
            send(preVote ? .preVote(request) : .vote(request), to: voter, term: preVote ? term + 1 : term)
        }
    }

    /// Counts a (pre-)vote; moves on once a majority decided either way.
    mutating func recordVote(from voter: NodeID, granted: Bool) {
        guard conf.isVoter(voter), votes[voter] == nil else { return }
        votes[voter] = granted
        let grants = votes.values.filter { $0 }.count
        let rejections = votes.count - grants
        if grants >= conf.quorum {
            if role == .preCandidate {
                runElection(preVote: false, isTransfer: false)
            } else {
                becomeLeader()
            }
        } else if rejections >= conf.quorum {
            becomeFollower(term: term, leader: nil)
        }
    }

    /// RequestVote receiver (Figure 2): grant if we have not voted for someone else this
    /// term and the candidate's log is at least as up-to-date as ours (section 5.4.1).
    mutating func handleVoteRequest(_ message: Message, _ request: VoteRequest, isPreVote: Bool) {
        let canVote = vote == message.from
            || (vote == nil && leader == nil)
            || (isPreVote && message.term > term)
        let upToDate = log.isUpToDate(lastIndex: request.lastLogIndex, lastTerm: request.lastLogTerm)
        if canVote && upToDate {
            if isPreVote {
                send(.preVoteResponse(VoteResponse(granted: true)), to: message.from, term: message.term)
            } else {
                electionElapsed = 0
                vote = message.from
                send(.voteResponse(VoteResponse(granted: true)), to: message.from)
            }
        } else {
            let response = VoteResponse(granted: false)
            send(isPreVote ? .preVoteResponse(response) : .voteResponse(response), to: message.from)
        }
    }

    // MARK: Role transitions

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID?) {
        if newTerm != term {
            term = newTerm
            vote = nil
        }
        if role == .leader || role == .candidate || role == .preCandidate || newLeader != leader {
            abandonReads()
        }
        role = .follower
        leader = newLeader
        resetTimers()
        leadTransferee = nil
    }

    private mutating func becomePreCandidate() {
        // PreVote changes neither term nor vote: a failed pre-election leaves no trace.
        role = .preCandidate
        leader = nil
        votes = [:]
        abandonReads()
    }

    private mutating func becomeCandidate() {
        term += 1
        vote = id
        role = .candidate
        leader = nil
        votes = [:]
        resetTimers()
        abandonReads()
    }

    mutating func becomeLeader() {
        role = .leader
        leader = id
        resetTimers()
        progress = [:]
        for member in conf.members {
            progress[member] = newProgress(for: member)
        }
        progress[id]?.match = log.stableLastIndex
        uncommitted = []
        uncommittedBytes = 0
        // "Upon election: send initial empty AppendEntries" — as a no-op entry of our term,
        // which is also what lets entries of earlier terms commit (section 5.4.2).
        appendAsLeader([Entry(term: term, index: log.lastIndex + 1)])
        // A configuration change must wait until that no-op is applied: treating it as a
        // pending change enforces the single-server change fix.
        pendingConfIndex = log.lastIndex
    }

    private mutating func resetTimers() {
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = config.electionTicks + Int(random.next() % UInt64(config.electionTicks))
    }
}
