import RaftCore

/// A linearizable read waiting for its read index, then for that index to be applied.
struct PendingRead {
    var deadline: ContinuousClock.Instant
    var continuation: CheckedContinuation<ReadResult, any Error>
}

enum ReadResult {
    case ready
    /// Leadership changed before the read was confirmed: ask again.
    case abandoned
    /// No leader was known when the read's batch was to be asked for: wait for one.
    case leaderUnknown
}

/// Linearizable reads (ReadIndex, Docs/ARCHITECTURE.md "Reads").
///
/// Reads that arrive between two turns of the Ready loop share one read index: the loop asks
/// RaftCore once for all of them before it takes the next Ready. On a follower that is one
/// request to the leader and one answer per batch instead of per read, and on the leader one
/// read state. Sharing is safe because the index is fixed only once asked for, after every
/// read of the batch arrived: it covers every write acknowledged before any of them began.
/// A read that arrives after its batch was asked for waits for the next one.
extension NodeRuntime {
    /// True when a stale read may read the local state at once: every write this node
    /// answered at commit is applied (`AcknowledgedWrites`). Otherwise it first awaits
    /// `staleReadBarrier()`.
    public nonisolated var staleReadMayProceed: Bool { acknowledgedWrites.allApplied }

    /// Returns once every write this node acknowledged before the call is applied locally,
    /// so that a stale read reflects them (Docs/API.md, "Consistency"); at once, mostly.
    public nonisolated func staleReadBarrier() async {
        if acknowledgedWrites.allApplied { return }
        await withCheckedContinuation { done in acknowledgedWrites.whenApplied { done.resume() } }
    }

    /// What an answer reports as the node's revision (`X-KV-Revision`): the store's, or the
    /// revision of a write answered at commit and not yet applied, whichever is higher.
    public nonisolated func answerRevision() -> UInt64 {
        max(store.stateMachine.revision, acknowledgedWrites.highestAcknowledged)
    }

    /// Returns once the local state machine reflects every write acknowledged before this
    /// call: then a local read is linearizable.
    public func linearizableBarrier() async throws(RuntimeError) {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        while true {
            guard !isStopped else { throw .shuttingDown }
            try await waitForLeader(until: deadline)
            guard !isStopped else { throw .shuttingDown }
            wake()
            let result: ReadResult
            do {
                result = try await withCheckedThrowingContinuation { continuation in
                    gatheredReads.append(PendingRead(deadline: deadline, continuation: continuation))
                }
            } catch {
                throw error as? RuntimeError ?? .internalError("\(error)")
            }
            switch result {
            case .ready:
                metrics.update { $0.linearizableReads += 1 }
                return
            case .leaderUnknown:
                continue
            case .abandoned:
                try await pause(until: deadline, reason: .unavailable("leadership changed during the read"))
            }
        }
    }

    /// Asks RaftCore for one read index covering every read gathered since the last call.
    /// The Ready loop calls this before each Ready, so the request leaves in it.
    func askForGatheredReads() {
        guard !gatheredReads.isEmpty else { return }
        let batch = gatheredReads
        gatheredReads = []
        let id = nextRequestID
        nextRequestID += 1
        do {
            try raft.readIndex(requestID: id)
        } catch {
            for read in batch { read.continuation.resume(returning: .leaderUnknown) }
            return
        }
        metrics.update { $0.readIndexRequests += 1 }
        reads[id] = batch
    }

    func readConfirmed(_ state: ReadState) {
        guard let batch = reads.removeValue(forKey: state.requestID) else { return }
        if state.index <= lmdbApplied {
            for read in batch { read.continuation.resume(returning: .ready) }
        } else {
            readsAwaitingApply.append((state.index, batch))
            // Applied batches wait up to `ApplyQueue.commitDelay` for their commit; a reader need not.
            store.commitQueuedApplies()
        }
    }

    func readAbandoned(_ requestID: UInt64) {
        for read in reads.removeValue(forKey: requestID) ?? [] { read.continuation.resume(returning: .abandoned) }
    }

    func releaseAppliedReads() {
        guard !readsAwaitingApply.isEmpty else { return }
        let applied = lmdbApplied
        let ready = readsAwaitingApply.filter { $0.index <= applied }
        readsAwaitingApply.removeAll { $0.index <= applied }
        for batch in ready {
            for read in batch.waiters { read.continuation.resume(returning: .ready) }
        }
    }

    /// Fails each read whose own deadline has passed; the rest of its batch waits on.
    func expireOverdueReads(now: ContinuousClock.Instant) {
        if gatheredReads.contains(where: { $0.deadline <= now }) {
            gatheredReads = Self.failOverdue(gatheredReads, now: now, reason: .unavailable("the read could not be confirmed by a quorum in time"))
        }
        for (id, batch) in reads where batch.contains(where: { $0.deadline <= now }) {
            let remaining = Self.failOverdue(batch, now: now, reason: .unavailable("the read could not be confirmed by a quorum in time"))
            reads[id] = remaining.isEmpty ? nil : remaining
        }
        for position in readsAwaitingApply.indices where readsAwaitingApply[position].waiters.contains(where: { $0.deadline <= now }) {
            readsAwaitingApply[position].waiters = Self.failOverdue(readsAwaitingApply[position].waiters, now: now,
                                                                    reason: .unavailable("this node is too far behind"))
        }
        readsAwaitingApply.removeAll { $0.waiters.isEmpty }
    }

    private static func failOverdue(_ batch: [PendingRead], now: ContinuousClock.Instant, reason: RuntimeError) -> [PendingRead] {
        var remaining: [PendingRead] = []
        for read in batch {
            if read.deadline <= now {
                read.continuation.resume(throwing: reason)
            } else {
                remaining.append(read)
            }
        }
        return remaining
    }

    func failReads(_ error: RuntimeError) {
        let waiting = gatheredReads + reads.values.joined() + readsAwaitingApply.flatMap(\.waiters)
        gatheredReads = []
        reads = [:]
        readsAwaitingApply = []
        for read in waiting { read.continuation.resume(throwing: error) }
    }
}
