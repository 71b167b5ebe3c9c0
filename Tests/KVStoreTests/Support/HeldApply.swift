import Foundation
import KVStore
import RaftCore

/// Applies committed entries through the store's apply queue and holds the LMDB write
/// thread right after applying them, so the transaction that applied them is still open
/// (nothing of it committed) while a test reads. `release()` lets it go on and commit.
final class HeldApply: @unchecked Sendable {
    private let lock = NSLock()
    private var applied: [AppliedEntry]?
    private var finished = false
    private let gate = DispatchSemaphore(value: 0)

    /// Queues `entries` (already committed in Raft) to be applied in the open transaction.
    init(_ store: DurableStore, _ entries: [Entry]) {
        var ready = Ready()
        ready.committedEntries = entries
        store.enqueueApply(ready, walSequence: nil, applied: { [self] results in
            lock.withLock { applied = results }
            gate.wait()
        }, done: { [self] _ in lock.withLock { finished = true } })
    }

    /// Waits (polling, up to `deadline`) until the entries are applied and the write thread
    /// is held inside the open transaction; returns their outcomes.
    func waitUntilApplied(deadline: Duration = .seconds(30)) async throws -> [AppliedEntry] {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if let results = lock.withLock({ applied }) { return results }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw HeldApplyTimeout()
    }

    /// Whether the transaction committed (it cannot while held).
    var isCommitted: Bool { lock.withLock { finished } }

    func release() { gate.signal() }

    /// Releases the write thread and waits until the batch is committed.
    func commit(_ store: DurableStore) async {
        release()
        await store.waitForQueuedApplies()
    }
}

struct HeldApplyTimeout: Error {}
