import Dispatch
import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Step 2 of a `Ready` without waiting for it: batches are copied into LMDB and applied on
/// the write thread in the order they were queued, in one transaction that stays open for
/// up to `commitDelay` and is then committed with one flush for all of them.
///
/// Applying at once and committing later keeps answers fast (they go out when a batch is
/// applied, see `EarlyAnswers`) while LMDB's flush runs rarely: every LMDB flush delays
/// the write-ahead log's next flush on the same disk, which is on every write's path.
/// Local reads see a batch as soon as it is applied (`UncommittedWrites`); a linearizable
/// read, which waits for the committed applied index, asks for the commit at once
/// (`commitQueuedApplies`).
final class ApplyQueue: @unchecked Sendable {
    struct Item: Sendable {
        var ready: Ready
        var walSequence: UInt64?
        /// Called with the results once the batch is applied, before it is committed.
        var applied: @Sendable ([AppliedEntry]) -> Void
        /// Called on the write thread once the commit returned, in queue order.
        var done: @Sendable (Result<AppliedBatch, KVStoreError>) -> Void
    }

    /// Applied batches waiting for their commit. Write thread only.
    final class OpenBatch {
        var update: LMDBRaftStorage.OpenUpdate
        var items: [Item] = []
        var results: [[AppliedEntry]] = []
        init(_ update: LMDBRaftStorage.OpenUpdate) { self.update = update }
    }

    private let items = Locked<[Item]>([])
    /// Write thread only.
    var open: OpenBatch?
    let commitScheduled = Locked(false)

    /// How long applied batches may wait for their commit. Long enough that LMDB flushes
    /// rarely (each one writes the touched B-tree pages and delays the log's flushes on the
    /// same disk: at 5 ms the three members' LMDB flushes were a quarter of the disk's; at
    /// 150 ms a leader takes 11 to 22 % more writes at 64 connections than at 50 ms, in two
    /// interleaved A/Bs, Docs/BENCHMARKS.md), short enough that the open transaction stays
    /// small (at 16,000 writes/s, some 2,400 writes) and a restart replays little.
    static let commitDelay = DispatchTimeInterval.milliseconds(150)
    /// Batches with nothing to apply that may wait for one that applies.
    static let maxDeferred = 32

    /// True when no commit was scheduled yet (the caller schedules it).
    func scheduleCommit() -> Bool {
        commitScheduled.withLock { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
    }

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

    public init(results: [AppliedEntry], commitSeconds: Double? = nil) {
        self.results = results
        self.commitSeconds = commitSeconds
    }
}

extension DurableStore {
    /// Queues `ready` (which must carry no snapshot data: those go through `apply`).
    ///
    /// A batch with nothing to apply (new entries, a term or a vote, all in the write-ahead
    /// log already) waits for the next batch that applies something; at most `maxDeferred`
    /// batches wait that way. A membership change is committed at once (the runtime waits
    /// for it), and so is any batch when `commitNow` (a reader waits for it). Every other write on the write thread first applies and commits what is
    /// queued (`Environment.beforeTransact`), so nothing overtakes it.
    ///
    /// While LMDB is full the write thread retries every 200 ms, so nothing queued later
    /// can overtake a batch; `storageFull` reports each failure and the first success after.
    public func enqueueApply(
        _ ready: Ready, walSequence: UInt64?, commitNow: Bool = false,
        applied: @escaping @Sendable ([AppliedEntry]) -> Void,
        done: @escaping @Sendable (Result<AppliedBatch, KVStoreError>) -> Void
    ) {
        precondition(ready.snapshotChunks.isEmpty && ready.snapshotToInstall == nil, "snapshot data goes through apply")
        let queued = applyQueue.push(ApplyQueue.Item(ready: ready, walSequence: walSequence, applied: applied, done: done))
        let membership = ready.committedEntries.contains { $0.kind == .configChange }
        if commitNow || membership || queued >= ApplyQueue.maxDeferred {
            environment.submitOnWriteThread { try? self.applyQueued(commit: true) }
        } else if !ready.committedEntries.isEmpty {
            environment.submitOnWriteThread { try? self.applyQueued(commit: false) }
        }
        // A failure reaches the batches through `done`.
    }

    /// Asks for what is applied to be committed now, without waiting (a read waits for it).
    public func commitQueuedApplies() {
        environment.submitOnWriteThread { try? self.applyQueued(commit: true) }
    }

    /// Returns once everything queued before the call has been committed (or failed).
    public func waitForQueuedApplies() async {
        _ = try? await environment.onWriteThread { () throws(KVStoreError) in try self.applyQueued(commit: true) }
    }

    /// Applies what is queued in the open transaction and commits it now or soon.
    /// Write thread only. A failure is reported to the batches and rethrown, so that the
    /// job that called this stops rather than overtake them.
    func applyQueued(commit: Bool = true) throws(KVStoreError) {
        let fresh = applyQueue.takeAll()
        if !fresh.isEmpty { try applyInOpenTransaction(fresh) }
        if commit {
            try commitOpenTransaction()
        } else if applyQueue.open != nil, applyQueue.scheduleCommit() {
            DispatchQueue.global().asyncAfter(deadline: .now() + ApplyQueue.commitDelay) { [environment] in
                environment.submitOnWriteThread {
                    self.applyQueue.commitScheduled.withLock { $0 = false }
                    try? self.applyQueued(commit: true)
                }
            }
        }
    }

    private func applyInOpenTransaction(_ fresh: [ApplyQueue.Item]) throws(KVStoreError) {
        var toRun = fresh
        var failedFull = false
        while true {
            let batch: ApplyQueue.OpenBatch
            if let open = applyQueue.open {
                batch = open
            } else {
                do throws(KVStoreError) {
                    batch = ApplyQueue.OpenBatch(try log.begin())
                } catch {
                    for item in toRun { item.done(.failure(error)) }
                    throw error
                }
                applyQueue.open = batch
            }
            do throws(KVStoreError) {
                var results: [[AppliedEntry]] = []
                for item in toRun {
                    results.append(try copyAndApply(item.ready, batch.update.txn, &batch.update.state))
                    if let sequence = item.walSequence { batch.update.mirroring = max(batch.update.mirroring ?? 0, sequence) }
                }
                batch.items += toRun
                batch.results += results
                for (item, result) in zip(toRun, results) { item.applied(result) }
                if failedFull { storageFull(false) }
                return
            } catch {
                // Start over in a new transaction with everything the failed one held.
                log.abort(batch.update)
                applyQueue.open = nil
                toRun = batch.items + toRun
                do throws(KVStoreError) {
                    try recover(from: error)
                } catch {
                    for item in toRun { item.done(.failure(error)) }
                    throw error
                }
                if case .storageFull = error { failedFull = true }
            }
        }
    }

    private func commitOpenTransaction() throws(KVStoreError) {
        while let batch = applyQueue.open {
            let started = ContinuousClock.now
            applyQueue.open = nil
            do throws(KVStoreError) {
                try log.commit(batch.update)
            } catch {
                // The transaction is gone: apply everything again, then commit again.
                do throws(KVStoreError) {
                    try recover(from: error)
                } catch {
                    for item in batch.items { item.done(.failure(error)) }
                    throw error
                }
                try applyInOpenTransaction(batch.items)
                continue
            }
            let seconds = (ContinuousClock.now - started).seconds
            for (position, item) in batch.items.enumerated() {
                item.done(.success(AppliedBatch(results: batch.results[position], commitSeconds: position == 0 ? seconds : nil)))
            }
        }
    }

    /// After a failed apply or commit (no transaction open): grows a full map, waits out a
    /// full disk, or rethrows anything else.
    private func recover(from error: KVStoreError) throws(KVStoreError) {
        var failure = error
        if LMDBStatus.isMapFull(error) {
            do throws(KVStoreError) {
                try environment.grow()
                return
            } catch {
                failure = error
            }
        }
        guard case .storageFull = failure, !isClosing.current else { throw failure }
        storageFull(true)
        usleep(200_000)
    }
}
