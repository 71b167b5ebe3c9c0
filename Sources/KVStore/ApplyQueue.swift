import Foundation
import RaftCore

/// Step 2 of a `Ready` without waiting for it: batches are copied into LMDB and applied on
/// the write thread in the order they were queued, and whatever queued up while the previous
/// commit was flushing goes into one transaction. The driver loop can then write the next
/// batch ahead while LMDB commits the last one, and one LMDB flush serves many batches.
final class ApplyQueue: Sendable {
    struct Item: Sendable {
        var ready: Ready
        var walSequence: UInt64?
        /// Called with the results just before the commit (see `EarlyAnswers`).
        var applied: @Sendable ([AppliedEntry]) -> Void
        /// Called on the write thread once the commit returned, in queue order.
        var done: @Sendable (Result<AppliedBatch, KVStoreError>) -> Void
    }

    private let items = Locked<[Item]>([])

    /// Returns how many items are queued now.
    func push(_ item: Item) -> Int {
        items.withLock {
            $0.append(item)
            return $0.count
        }
    }

    /// Everything queued so far, oldest first.
    func takeAll() -> [Item] {
        items.withLock { queued in
            defer { queued = [] }
            return queued
        }
    }
}

/// What one queued `Ready` got from the LMDB commit that carried it.
public struct AppliedBatch: Sendable {
    public var results: [AppliedEntry]
    /// How long the commit took, on the first batch it carried only (so that summing counts
    /// each commit once).
    public var commitSeconds: Double?
}

extension DurableStore {
    /// Queues `ready` (which must carry no snapshot data: those go through `apply`).
    ///
    /// A batch with nothing to apply (new entries, a term or a vote, all in the write-ahead
    /// log already) waits for the next batch that applies something, so that one LMDB
    /// commit carries both; at most `maxDeferred` batches wait that way. Every other job on
    /// the write thread first commits what is queued, so nothing overtakes it.
    ///
    /// While LMDB is full the write thread retries the same transaction every 200 ms, so
    /// nothing queued later can overtake it; `storageFull` reports each failure and the
    /// first success after one.
    public func enqueueApply(
        _ ready: Ready, walSequence: UInt64?,
        applied: @escaping @Sendable ([AppliedEntry]) -> Void,
        done: @escaping @Sendable (Result<AppliedBatch, KVStoreError>) -> Void
    ) {
        precondition(ready.snapshotChunks.isEmpty && ready.snapshotToInstall == nil, "snapshot data goes through apply")
        let queued = applyQueue.push(ApplyQueue.Item(ready: ready, walSequence: walSequence, applied: applied, done: done))
        if !ready.committedEntries.isEmpty || queued >= Self.maxDeferred {
            // A failure reaches the batches through `done`.
            environment.submitOnWriteThread { try? self.applyQueued() }
        }
    }

    static let maxDeferred = 32

    /// Returns once everything queued before the call has been committed (or failed).
    public func waitForQueuedApplies() async {
        _ = try? await environment.onWriteThread { () throws(KVStoreError) in try self.applyQueued() }
    }

    /// Commits everything queued. Write thread only: every write-thread job of the store
    /// calls this first, and stops if it throws, so that nothing overtakes a failed batch.
    func applyQueued() throws(KVStoreError) {
        let items = applyQueue.takeAll()
        guard !items.isEmpty else { return }
        var results = [[AppliedEntry]](repeating: [], count: items.count)
        let mirroring = items.compactMap(\.walSequence).max()
        var failedFull = false
        let started = ContinuousClock.now
        while true {
            do {
                try log.update(.replayable, mirroring: mirroring, { txn, s throws(KVStoreError) in
                    for (position, item) in items.enumerated() {
                        if let hardState = item.ready.hardState { try log.setHardState(hardState, txn, &s) }
                        try log.append(item.ready.entries, txn, &s)
                        results[position] = try stateMachine.apply(item.ready.committedEntries, txn)
                    }
                }, beforeCommit: {
                    for (position, item) in items.enumerated() { item.applied(results[position]) }
                })
                break
            } catch .storageFull where !isClosing.current {
                failedFull = true
                storageFull(true)
                usleep(200_000)
            } catch {
                for item in items { item.done(.failure(error)) }
                throw error
            }
        }
        if failedFull { storageFull(false) }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        for (position, item) in items.enumerated() {
            item.done(.success(AppliedBatch(results: results[position], commitSeconds: position == 0 ? seconds : nil)))
        }
    }
}
