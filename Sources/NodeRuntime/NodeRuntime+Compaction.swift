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
        // Revisions without events (keepalives, compactions themselves, a leader's no-op)
        // leave nothing to forget: compacting them would only add more such entries, one
        // per age period for ever on an idle store.
        let oldest: UInt64?
        do {
            oldest = try store.stateMachine.events(after: compacted, limit: 1).first?.revision
        } catch {
            return
        }
        guard let oldest, oldest <= target else {
            historyCompactor.compacted(through: target)
            return
        }
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
