import KVStore

extension NodeRuntime {
    /// What the write thread calls once a batch is applied: the watch hub is told first
    /// (applied events are readable before their transaction commits, see `EarlyAnswers`,
    /// so watchers see a write about when its writer is answered), then the writers are
    /// answered.
    nonisolated func answeringAndNotifyingWatches(_ early: EarlyAnswers) -> @Sendable ([AppliedEntry]) -> Void {
        { [watchHub] results in
            watchHub.notify()
            early.answer(results)
        }
    }
}
