import KVStore

extension NodeRuntime {
    /// What the write thread calls once a batch is applied: the watch hub is told first
    /// (applied events are readable before their transaction commits, see `EarlyAnswers`,
    /// so watchers see a write about when its writer is answered), then stale reads waiting
    /// for writes answered at commit (`AcknowledgedWrites`), then the writers are answered.
    nonisolated func answeringAndNotifyingWatches(_ early: EarlyAnswers) -> @Sendable ([AppliedEntry]) -> Void {
        { [watchHub, acknowledgedWrites] results in
            watchHub.notify()
            if let last = results.last { acknowledgedWrites.applied(through: last.index) }
            early.answer(results)
        }
    }
}
