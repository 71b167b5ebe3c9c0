/// Log replication (section 5.3): proposals, AppendEntries on both sides, heartbeats, and
/// per-follower flow control (probe / replicate, in-flight window).
extension RaftNode {
    /// Appends a command to the leader's log. The command is committed once an entry with
    /// the returned index and term is handed out in `Ready.committedEntries`.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> ProposalReceipt {
        try checkCanPropose(bytes: data.count + 24)
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .normal, data: data)
        appendAsLeader([entry])
        return ProposalReceipt(index: entry.index, term: entry.term)
    }

    func checkCanPropose(bytes: Int) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard leadTransferee == nil else { throw .transferInProgress }
        if config.maxUncommittedBytes > 0 && uncommittedBytes > 0
            && uncommittedBytes + bytes > config.maxUncommittedBytes {
            throw .backpressure
        }
    }

    /// Leader: append to our own log and schedule replication. Sends are deferred to the
    /// next `ready()`, so all proposals made in between share one AppendEntries per follower.
    /// Our own copy counts toward a majority only once it is durable (`ownLogPersisted`).
    mutating func appendAsLeader(_ entries: [Entry]) {
        log.append(entries)
        for entry in entries where !entry.data.isEmpty {
            uncommitted.append((entry.index, entry.byteSize))
            uncommittedBytes += entry.byteSize
        }
        progress[id]?.next = log.lastIndex + 1
        needsBroadcast = true
    }

    /// Leader: the application made our own log durable up to `log.stableLastIndex`.
    ///
    /// A leader sends AppendEntries while it writes its own log (the dissertation's section
    /// 10.2.1), so its match index moves only here, never at append time. A commit index is
    /// therefore always backed by a majority of durable copies, and whatever carries it may
    /// leave before the leader's disk write finishes.
    mutating func ownLogPersisted() {
        guard role == .leader, let match = progress[id]?.match, log.stableLastIndex > match else { return }
        progress[id]!.match = log.stableLastIndex
        if maybeCommit() { needsBroadcast = true }
    }

    /// Sends whatever each follower is missing: new entries, or just a newer commit index.
    mutating func broadcastAppend() {
        needsBroadcast = false
        for peer in progress.keys.sorted() where peer != id {
            sendAppend(to: peer, sendIfEmpty: true)
        }
    }

    /// Replication state for a member this leader starts tracking: probing from our log's
    /// end, with the grace of one election timeout before CheckQuorum expects its answers.
    func newProgress(for member: NodeID) -> Progress {
        Progress(next: log.lastIndex + 1, isLearner: !conf.isVoter(member), maxInflight: config.maxInflightMessages,
                 maxInflightBytes: config.maxInflightBytes, now: leaderTicks)
    }

    /// Sends the next AppendEntries to `peer` if its flow-control state allows. With
    /// `sendIfEmpty`, a message without entries still goes out when the follower has not
    /// yet heard the current commit index, or when it is being probed: the answer to an
    /// empty probe (a new member's, whose next index starts past the end of our log) may
    /// have been lost, and nothing else would ask again until the next write.
    mutating func sendAppend(to peer: NodeID, sendIfEmpty: Bool) {
        guard var pr = progress[peer] else { return }
        var needsSnapshot = false
        sending: while !pr.isPaused {
            let prevIndex = pr.next - 1
            let prevTerm: UInt64
            let entries: [Entry]
            do {
                prevTerm = try log.term(at: prevIndex)
                // A probe asks "do we match here?" and carries one entry at most (a byte limit
                // of 0 still yields one): until the answer says yes, more would likely be sent
                // again.
                let maxBytes = pr.state == .probe ? 0 : config.maxMessageBytes
                entries = try log.entries(from: pr.next, to: log.lastIndex + 1, maxBytes: maxBytes)
            } catch {
                // The follower needs entries we compacted away.
                needsSnapshot = true
                break sending
            }
            let commit = log.committed
            if entries.isEmpty && !(sendIfEmpty && (pr.sentCommit < commit || pr.state == .probe)) { break sending }
            send(.append(AppendRequest(prevLogIndex: prevIndex, prevLogTerm: prevTerm,
                                       entries: entries, leaderCommit: commit)), to: peer)
            pr.sentCommit = commit
            switch pr.state {
            case .replicate:
                if let last = entries.last {
                    // Optimistically assume delivery; a rejection sends us back to probing.
                    pr.next = last.index + 1
                    pr.inflights.add(last.index, bytes: entries.reduce(0) { $0 + $1.byteSize })
                }
            case .probe:
                pr.probeSentAt = leaderTicks
            case .snapshot:
                break
            }
            if entries.isEmpty || pr.next > log.lastIndex { break sending }
        }
        progress[peer] = pr
        if needsSnapshot { startSnapshotTransfer(to: peer) }
    }

    /// AppendEntries receiver (Figure 2).
    mutating func handleAppend(from leaderID: NodeID, _ request: AppendRequest) {
        var request = request
        // Entries at or below our commit index are already known to match the leader's.
        if request.prevLogIndex < log.committed {
            let skip = Int(min(log.committed - request.prevLogIndex, UInt64(request.entries.count)))
            if skip == request.entries.count {
                send(.appendResponse(AppendResponse(success: true, index: log.committed)), to: leaderID)
                return
            }
            request.prevLogTerm = request.entries[skip - 1].term
            request.prevLogIndex = request.entries[skip - 1].index
            request.entries.removeFirst(skip)
        }

        // "Reply false if log doesn't contain an entry at prevLogIndex whose term matches
        // prevLogTerm."
        guard log.matchTerm(index: request.prevLogIndex, term: request.prevLogTerm) else {
            let hint: (index: UInt64, term: UInt64)
            if log.lastIndex < request.prevLogIndex {
                hint = (log.lastIndex + 1, 0)
            } else {
                let conflictTerm = (try? log.term(at: request.prevLogIndex)) ?? 0
                hint = (log.firstIndex(ofTermAt: request.prevLogIndex), conflictTerm)
            }
            send(.appendResponse(AppendResponse(success: false, index: request.prevLogIndex,
                                                hintIndex: hint.index, hintTerm: hint.term)), to: leaderID)
            return
        }

        // Rules 3 and 4: drop a conflicting suffix, append what is new.
        guard let lastNew = request.entries.isEmpty ? request.prevLogIndex : log.appendReplicated(request.entries) else {
            droppedMessages.count(.conflictsWithCommitted)
            return
        }
        // Rule 5: "set commitIndex = min(leaderCommit, index of last new entry)".
        log.commit(to: min(request.leaderCommit, lastNew))
        send(.appendResponse(AppendResponse(success: true, index: lastNew)), to: leaderID)
    }

    mutating func handleHeartbeat(from leaderID: NodeID, _ heartbeat: Heartbeat) {
        // The leader caps the commit index at what it knows we hold.
        log.commit(to: min(heartbeat.commit, log.lastIndex))
        send(.heartbeatResponse(HeartbeatResponse(readRound: heartbeat.readRound)), to: leaderID)
    }

    mutating func handleAppendResponse(from peer: NodeID, _ response: AppendResponse) {
        guard progress[peer] != nil else { return }
        if !response.success {
            let stepped = progress[peer]!.backOff(rejected: response.index, hintIndex: response.hintIndex,
                                                   hintTerm: response.hintTerm,
                                                   lastIndexOfTerm: { [log, match = progress[peer]!.match] term in
                                                       log.lastIndex(ofTerm: term, atMost: response.index, atLeast: match)
                                                   })
            if stepped { sendAppend(to: peer, sendIfEmpty: true) }
            return
        }

        guard progress[peer]!.acknowledge(upTo: response.index) else { return }
        switch progress[peer]!.state {
        case .probe:
            progress[peer]!.becomeReplicate()
        case .snapshot(let transfer) where progress[peer]!.match >= transfer.metadata.index:
            progress[peer]!.becomeReplicate()
        case .replicate:
            progress[peer]!.inflights.free(upTo: response.index)
        case .snapshot:
            break
        }

        if maybeCommit() {
            needsBroadcast = true
        } else {
            // Also tells a follower that acknowledged late about the current commit index.
            sendAppend(to: peer, sendIfEmpty: true)
        }
        continueLeadershipTransfer(after: peer)
    }

    /// A heartbeat answer is evidence the follower is alive now only if it answers the latest
    /// heartbeat: after a partition heals, the answers to every heartbeat sent during it
    /// arrive at once, and none of those may trigger a send of its own.
    mutating func handleHeartbeatResponse(from peer: NodeID, _ response: HeartbeatResponse) {
        guard var pr = progress[peer] else { return }
        if let sentAt = reads.roundSentAt[response.readRound] {
            pr.answeredHeartbeatSentAt = max(pr.answeredHeartbeatSentAt, sentAt)
        }
        let answersLatest = response.readRound == reads.latestRound
        if let sentAt = pr.probeSentAt, leaderTicks - sentAt >= probeRetryTicks {
            // The probe or its answer was lost: the follower may have another.
            pr.probeSentAt = nil
        }
        if answersLatest && pr.state == .replicate && pr.inflights.isFull { pr.inflights.freeFirst() }
        progress[peer] = pr
        if pr.match < log.lastIndex || pr.sentCommit < log.committed {
            sendAppend(to: peer, sendIfEmpty: true)
        }
        acknowledgeReadRound(from: peer, round: response.readRound)
    }

    /// Heartbeats assert leadership, carry the commit index and the newest ReadIndex round.
    /// Every heartbeat opens a round and records when it left, so an answer tells the leader
    /// which heartbeat it answers: that is what CheckQuorum and lease reads count, and what
    /// tells a fresh answer from an old one delivered late.
    mutating func broadcastHeartbeat() {
        if !reads.roundAwaitingBroadcast { reads.latestRound += 1 }
        reads.roundSentAt[reads.latestRound] = leaderTicks
        // Rounds sent more than an election timeout ago can no longer count as fresh.
        let horizon = leaderTicks > UInt64(config.electionTicks) ? leaderTicks - UInt64(config.electionTicks) : 0
        if let oldest = reads.roundSentAt.values.min(), oldest < horizon {
            reads.roundSentAt = reads.roundSentAt.filter { $0.value >= horizon }
        }
        reads.roundAwaitingBroadcast = false
        for peer in progress.keys.sorted() where peer != id {
            let commit = min(progress[peer]!.match, log.committed)
            send(.heartbeat(Heartbeat(commit: commit, readRound: reads.latestRound)), to: peer)
        }
    }

    /// A follower in replicate state that made no progress over several heartbeat intervals
    /// while entries were outstanding probably lost a message: re-probe from its match index.
    mutating func reprobeStalledFollowers() {
        for peer in progress.keys where peer != id {
            var pr = progress[peer]!
            if pr.state == .replicate && pr.match < log.lastIndex && pr.match == pr.matchAtLastHeartbeat {
                pr.stalledIntervals += 1
                if pr.stalledIntervals >= config.stalledHeartbeats { pr.becomeProbe() }
            } else {
                pr.stalledIntervals = 0
            }
            pr.matchAtLastHeartbeat = pr.match
            progress[peer] = pr
        }
    }

    /// Leader ticks an outstanding probe may go unanswered before another is sent.
    var probeRetryTicks: UInt64 { UInt64(config.stalledHeartbeats * config.heartbeatTicks) }

    /// Members this leader has heard nothing from for at least `ticks` ticks (none unless
    /// leader): the embedding program may reset its connections to them.
    public func silentMembers(forAtLeast ticks: Int) -> [NodeID] {
        guard role == .leader else { return [] }
        return progress.compactMap { peer, pr in peer != id && pr.ticksSinceContact >= ticks ? peer : nil }
    }

    /// The transport could not deliver to `peer`: stop streaming optimistically and probe.
    public mutating func reportUnreachable(_ peer: NodeID) {
        guard role == .leader, let pr = progress[peer], pr.state == .replicate else { return }
        progress[peer]!.becomeProbe()
    }
}
