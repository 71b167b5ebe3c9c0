import KVStore

/// Automatic compaction of the history of changes (Docs/API.md, "History and compaction"):
/// the leader proposes `.compact(revision:)` as `HistoryCompactor` decides, so every replica
/// forgets the same history at the same log index.
extension NodeRuntime {
    /// Called each tick: every node samples its revision for the age rule; the leader, with
    /// no compaction in flight, proposes one when it is due.
    func tickCompaction() {
        let revision = store.stateMachine.revision
        let now = ContinuousClock.now
        historyCompactor.sample(revision: revision, now: now)
        guard raft.isLeader, !historyCompactor.inFlight,
              historyCompactor.target(revision: revision, compacted: historyCompactor.knownCompactRevision, now: now) != nil
        else { return }
        // Due by what this node last knew; a client's `POST /compact` may have moved the
        // compact revision since, so ask the store before proposing.
        let compacted: UInt64
        do {
            compacted = try store.stateMachine.compactRevision()
        } catch {
            return
        }
        historyCompactor.compacted(through: compacted)
        guard let target = historyCompactor.target(revision: revision, compacted: compacted, now: now) else { return }
        proposeCompaction(through: target)
    }

    private func proposeCompaction(through target: UInt64) {
        historyCompactor.inFlight = true
        let command = KVCommand(.compact(revision: target))
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        propose(PendingWrite(command: command.encoded(), deadline: deadline, mayForward: false) { [self] result in
            Task(executorPreference: executor) { await self.compactionFinished(target, result) }
        })
    }

    private func compactionFinished(_ target: UInt64, _ result: Result<KVResult, RuntimeError>) {
        historyCompactor.inFlight = false
        switch result {
        case .success:
            historyCompactor.compacted(through: target)
        case .failure(.compacted(let revision)):
            historyCompactor.compacted(through: revision)
        case .failure(let error):
            logger.debug("a history compaction did not apply", metadata: ["through": "\(target)", "error": "\(error)"])
        }
    }
}
