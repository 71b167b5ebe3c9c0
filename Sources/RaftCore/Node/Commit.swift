/// Advancing the commit index (sections 5.3 and 5.4.2).
extension RaftNode {
    /// "If there exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N,
    /// and log[N].term == currentTerm: set commitIndex = N."
    ///
    /// Commit only entries of the current term by counting replicas. An entry from an
    /// earlier term may be stored on a majority and still be overwritten by a future leader
    /// (the paper's Figure 8); it becomes committed only indirectly, when an entry of the
    /// current term after it commits. The no-op each leader appends on election is what
    /// makes that happen promptly.
    @discardableResult
    mutating func maybeCommit() -> Bool {
        guard role == .leader else { return false }
        let candidate = quorumMatchIndex()
        guard candidate > log.committed else { return false }
        guard (try? log.term(at: candidate)) == term else { return false }
        log.commit(to: candidate)
        releaseUncommittedBytes()
        releaseReadsAwaitingCommit()
        return true
    }

    /// The highest index stored on a majority of voters: sort the voters' match indexes in
    /// descending order and take the quorum-th one.
    func quorumMatchIndex() -> UInt64 {
        guard !conf.voters.isEmpty else { return 0 }
        let matches = conf.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        return matches[conf.quorum - 1]
    }

    /// Whether an entry of this leader's term has committed: until then the leader's commit
    /// index may lag behind the cluster's, so it must not answer reads or accept membership
    /// changes.
    var hasCommittedInCurrentTerm: Bool {
        (try? log.term(at: log.committed)) == term
    }

    private mutating func releaseUncommittedBytes() {
        let released = uncommitted.prefix { $0.index <= log.committed }
        uncommittedBytes -= released.reduce(0) { $0 + $1.bytes }
        uncommitted.removeFirst(released.count)
    }
}
