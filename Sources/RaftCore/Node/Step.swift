/// The one entry point for messages. Term handling common to every role lives here
/// (Figure 2, "Rules for Servers: All Servers"); the rest is dispatched by role.
extension RaftNode {
    public mutating func step(_ message: Message) {
        if let reason = dropReason(for: message) {
            droppedMessages.count(reason)
            refuseVote(message)
            return
        }
        if message.term > term {
            guard acceptHigherTerm(message) else { return }
        } else if message.term < term {
            respondToStaleTerm(message)
            return
        }

        switch message.body {
        case .preVote(let request):
            handleVoteRequest(message, request, isPreVote: true)
        case .vote(let request):
            handleVoteRequest(message, request, isPreVote: false)
        default:
            switch role {
            case .leader: stepLeader(message)
            case .candidate, .preCandidate: stepCandidate(message)
            case .follower: stepFollower(message)
            }
        }
    }

    /// A vote request we drop still gets a "no", in our own term, so a removed node that
    /// does not know it was removed stops waiting for votes that will never come.
    private mutating func refuseVote(_ message: Message) {
        guard message.to == id, message.from != id else { return }
        switch message.body {
        case .preVote: send(.preVoteResponse(VoteResponse(granted: false)), to: message.from)
        case .vote: send(.voteResponse(VoteResponse(granted: false)), to: message.from)
        default: break
        }
    }

    /// "If RPC request or response contains term T > currentTerm: set currentTerm = T,
    /// convert to follower." Returns false when the message must be ignored instead.
    private mutating func acceptHigherTerm(_ message: Message) -> Bool {
        switch message.body {
        case .preVote(let request), .vote(let request):
            // While we hear from a live leader, a vote request is most likely from a node
            // that was partitioned away; ignoring it keeps it from deposing a healthy
            // leader (dissertation 4.2.3). A leadership transfer is the deliberate exception.
            let withinLease = config.checkQuorum && leader != nil && electionElapsed < config.electionTicks
            if withinLease && !request.isLeadershipTransfer { return false }
            if case .preVote = message.body { return true } // PreVote never changes our term.
            becomeFollower(term: message.term, leader: nil)
            return true
        case .preVoteResponse(let response) where response.granted:
            // Granted PreVotes carry the term we would campaign in; they are not a newer term.
            return true
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            return true
        default:
            becomeFollower(term: message.term, leader: nil)
            return true
        }
    }

    /// "Reply false if term < currentTerm." For a stale leader, our reply carries our term so
    /// it steps down; stale answers and requests are otherwise dropped.
    private mutating func respondToStaleTerm(_ message: Message) {
        switch message.body {
        case .append, .heartbeat, .snapshot:
            if config.checkQuorum || config.preVote {
                send(.appendResponse(AppendResponse(success: false, index: 0)), to: message.from)
            }
        case .preVote:
            send(.preVoteResponse(VoteResponse(granted: false)), to: message.from)
        case .readIndex(let request):
            send(.readIndexResponse(ReadIndexResponse(requestID: request.requestID, index: 0, ok: false)), to: message.from)
        default:
            break
        }
    }

    private mutating func stepFollower(_ message: Message) {
        switch message.body {
        case .append(let request):
            heardFromLeader(message.from)
            handleAppend(from: message.from, request)
        case .heartbeat(let heartbeat):
            heardFromLeader(message.from)
            handleHeartbeat(from: message.from, heartbeat)
        case .snapshot(let chunk):
            heardFromLeader(message.from)
            handleSnapshotChunk(from: message.from, chunk)
        case .timeoutNow:
            handleTimeoutNow(from: message.from)
        case .readIndex(let request):
            // Only the leader can confirm reads; the asker will retry with the right node.
            send(.readIndexResponse(ReadIndexResponse(requestID: request.requestID, index: 0, ok: false)), to: message.from)
        case .readIndexResponse(let response):
            handleReadIndexResponse(response)
        default:
            break
        }
    }

    private mutating func stepCandidate(_ message: Message) {
        switch message.body {
        case .append, .heartbeat, .snapshot:
            // "If AppendEntries RPC received from new leader: convert to follower."
            becomeFollower(term: message.term, leader: message.from)
            stepFollower(message)
        case .voteResponse(let response) where role == .candidate:
            recordVote(from: message.from, granted: response.granted)
        case .preVoteResponse(let response) where role == .preCandidate:
            recordVote(from: message.from, granted: response.granted)
        case .readIndex(let request):
            send(.readIndexResponse(ReadIndexResponse(requestID: request.requestID, index: 0, ok: false)), to: message.from)
        default:
            break
        }
    }

    private mutating func stepLeader(_ message: Message) {
        if progress[message.from] != nil {
            progress[message.from]!.ticksSinceContact = 0
        }
        switch message.body {
        case .appendResponse(let response):
            handleAppendResponse(from: message.from, response)
        case .heartbeatResponse(let response):
            handleHeartbeatResponse(from: message.from, response)
        case .snapshotResponse(let response):
            handleSnapshotResponse(from: message.from, response)
        case .readIndex(let request):
            handleReadIndexRequest(from: message.from, requestID: request.requestID)
        default:
            break
        }
    }

    private mutating func heardFromLeader(_ from: NodeID) {
        electionElapsed = 0
        leader = from
    }
}
