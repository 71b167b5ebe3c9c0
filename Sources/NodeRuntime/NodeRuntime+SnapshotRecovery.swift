import FoundationEssentials
import KVStore
import RaftCore

/// What the runtime does when a received snapshot cannot be installed, and how it stops when
/// storage has failed.
extension NodeRuntime {
    /// A received snapshot failed its checksum or did not decode at install (or its chunks
    /// did not line up). The install transaction was aborted, so the state machine and the
    /// log are as they were; the staged file is gone (`installOnWriteThread`).
    ///
    /// RaftCore, though, already took the snapshot as installed in memory when its last
    /// chunk arrived. The node is therefore rebuilt from what is durable, exactly as a
    /// restart would rebuild it: that Ready was never written, its messages (the snapshot's
    /// acknowledgement among them) never left, and everything sent before it depended only on
    /// durable state. The leader hears nothing back, its stalled transfer restarts after two
    /// election timeouts, and it sends the snapshot again from offset 0.
    func receivedSnapshotFailed(reason: String, early: EarlyAnswers) async {
        logger.error("received snapshot is damaged; discarding it and waiting for the leader to send it again",
                     metadata: ["reason": "\(reason)"])
        for (index, waiting) in early.remaining() { proposals[index, default: []].append(contentsOf: waiting) }
        do throws(KVStoreError) {
            try await store.discardStagedSnapshots()
            // The node restarts from LMDB: it must hold every batch queued to it first.
            store.commitQueuedApplies()
            await store.waitForQueuedApplies()
            let applied = try store.stateMachine.appliedPosition()
            raft = RaftNode(config: config.raftConfig(applied: applied.index), storage: store.log)
        } catch {
            failStop(error)
        }
        // Reads registered with the discarded node will never be confirmed: their callers retry.
        for id in Array(reads.keys) { readAbandoned(id) }
    }

    /// A failed disk write or read: the node stops (exit status 1) rather than acknowledge
    /// writes that may not be durable. A logged exit, not a trap: nothing here is a bug.
    func failStop(_ error: any Error) -> Never {
        logger.critical("storage failed; stopping", metadata: ["error": "\(error)"])
        StandardError.exit("kv-node: storage failed; stopping: \(error)", status: 1)
    }
}
