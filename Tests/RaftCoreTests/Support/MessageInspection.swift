import RaftCore

/// Small accessors so tests can say "the AppendEntries requests n1 sent to n2" without a
/// `switch` in every assertion.
extension MessageBody {
    var appendRequest: AppendRequest? {
        if case .append(let request) = self { return request }
        return nil
    }

    var appendResponse: AppendResponse? {
        if case .appendResponse(let response) = self { return response }
        return nil
    }

    var heartbeat: Heartbeat? {
        if case .heartbeat(let heartbeat) = self { return heartbeat }
        return nil
    }

    var voteRequest: VoteRequest? {
        if case .vote(let request) = self { return request }
        return nil
    }

    var preVoteRequest: VoteRequest? {
        if case .preVote(let request) = self { return request }
        return nil
    }

    /// The grant of a (non-pre) vote response, nil for other messages.
    var voteGranted: Bool? {
        if case .voteResponse(let response) = self { return response.granted }
        return nil
    }

    var preVoteGranted: Bool? {
        if case .preVoteResponse(let response) = self { return response.granted }
        return nil
    }

    var snapshotChunk: SnapshotChunk? {
        if case .snapshot(let chunk) = self { return chunk }
        return nil
    }

    var isTimeoutNow: Bool {
        if case .timeoutNow = self { return true }
        return false
    }

    /// PreVote requests and granted responses carry the term the sender *would* campaign
    /// in, which is never persisted.
    var isPreVoteTraffic: Bool {
        switch self {
        case .preVote, .preVoteResponse: return true
        default: return false
        }
    }
}

extension Array where Element == Entry {
    /// A readable log shape for failure messages and comparisons: `[(index, term)]`.
    var shape: [[UInt64]] { map { [$0.index, $0.term] } }
}

/// Entries with sequential indexes and the given terms, starting at `index`.
func entries(from index: UInt64, terms: [UInt64]) -> [Entry] {
    terms.enumerated().map { offset, term in
        Entry(term: term, index: index + UInt64(offset), data: Array("e\(index + UInt64(offset))t\(term)".utf8))
    }
}

func payload(_ text: String) -> [UInt8] { Array(text.utf8) }
