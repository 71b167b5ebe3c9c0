import FoundationEssentials
import KVStore
import RaftCore

/// A proposal waiting for its entry to be applied. Keyed by log index: if a different
/// entry (another term) is applied there, the proposal was lost and may be retried.
struct PendingProposal: Sendable {
    var term: UInt64
    var deadline: ContinuousClock.Instant
    /// Answered when its entry commits, with `KVResult(revision: index)`
    /// (`KVCommand.resultIsKnownAtCommit`), instead of once it is applied.
    var answersAtCommit = false
    /// Called exactly once, from whichever thread learns the outcome.
    var resume: @Sendable (Result<ProposalResult, RuntimeError>) -> Void

    /// What this proposal's entry index ended up holding.
    func finish(appliedTerm: UInt64, outcome: ApplyOutcome) {
        resume(.success(term == appliedTerm ? .applied(outcome) : .lost))
    }
}

enum ProposalResult: Sendable {
    case applied(ApplyOutcome)
    /// Another entry took this index (leadership changed first): nothing was applied.
    case lost
}

struct LeaderWaiter {
    var deadline: ContinuousClock.Instant
    var continuation: CheckedContinuation<Void, any Error>
}

extension NodeRuntime {
    // MARK: Waiting for entries

    /// Waits until the entry at `receipt.index` is applied (or another entry took its place,
    /// or the deadline or a shutdown fails the wait).
    func awaitApplied(_ receipt: ProposalReceipt, deadline: ContinuousClock.Instant) async throws(RuntimeError) -> ProposalResult {
        wake()
        return try await withCheckedContinuation { done in
            waitForApply(receipt, deadline: deadline) { done.resume(returning: $0) }
        }.get()
    }

    /// Registers `resume` for whatever the entry at `receipt.index` turns out to be.
    func waitForApply(_ receipt: ProposalReceipt, deadline: ContinuousClock.Instant, answersAtCommit: Bool = false,
                      resume: @escaping @Sendable (Result<ProposalResult, RuntimeError>) -> Void) {
        proposals[receipt.index, default: []].append(PendingProposal(term: receipt.term, deadline: deadline,
                                                                     answersAtCommit: answersAtCommit, resume: resume))
    }

    /// Hands the waiters on `entries` to the batch that applies them (see `EarlyAnswers`).
    /// The proposals waiting on `entries`, which have committed and are about to be applied;
    /// those whose answer is known at commit are answered here and now.
    ///
    /// Why: a write thread in the middle of an LMDB commit (10 to 25 ms under load) applies
    /// nothing meanwhile, so answers given at apply wait for it, and that wait was the write
    /// p99 (Docs/BENCHMARKS.md, "Plain puts answered at commit"). An answer at commit says no
    /// more than the Raft paper's: the entry is on a majority of logs, so it survives any
    /// minority of failures, and every node applies it. A linearizable read after the answer
    /// waits for its read index to be applied; a stale read here waits for what this node
    /// acknowledged (`AcknowledgedWrites`).
    func takeProposals(waitingOn entries: [Entry]) -> [UInt64: [PendingProposal]] {
        guard !proposals.isEmpty else { return [:] }
        var taken: [UInt64: [PendingProposal]] = [:]
        for entry in entries {
            guard let waiting = proposals.removeValue(forKey: entry.index) else { continue }
            var atApply: [PendingProposal] = []
            for proposal in waiting {
                // Another term's entry at this index is someone else's write: that is
                // decided at apply (`PendingProposal.finish`), as for every other proposal.
                guard proposal.answersAtCommit && proposal.term == entry.term else {
                    atApply.append(proposal)
                    continue
                }
                acknowledgedWrites.acknowledged(entry.index)
                proposal.resume(.success(.applied(.applied(KVResult(revision: entry.index)))))
            }
            if !atApply.isEmpty { taken[entry.index] = atApply }
        }
        return taken
    }

    func completeProposal(_ applied: AppliedEntry) {
        guard let waiting = proposals.removeValue(forKey: applied.index) else { return }
        for proposal in waiting {
            proposal.finish(appliedTerm: applied.term, outcome: applied.outcome)
        }
    }

    func failProposals(_ error: RuntimeError) {
        let waiting = proposals.values.flatMap { $0 }
        proposals = [:]
        for proposal in waiting { proposal.resume(.failure(error)) }
    }

    // MARK: Waiting for a leader and deadlines

    func waitForLeader(until deadline: ContinuousClock.Instant) async throws(RuntimeError) {
        if raft.currentLeader != nil { return }
        guard ContinuousClock.now < deadline else { throw .unavailable("no leader was elected in time") }
        do {
            try await withCheckedThrowingContinuation { continuation in
                leaderWaiters.append(LeaderWaiter(deadline: deadline, continuation: continuation))
            }
        } catch {
            throw error as? RuntimeError ?? .internalError("\(error)")
        }
    }

    /// Waits a short while (a few ticks) before retrying, or fails with `reason` when the
    /// deadline has passed.
    func pause(until deadline: ContinuousClock.Instant, reason: RuntimeError) async throws(RuntimeError) {
        let now = ContinuousClock.now
        guard now < deadline else { throw reason }
        let step = Duration.milliseconds(config.tickMilliseconds * 2)
        try? await Task.sleep(until: min(now + step, deadline), clock: .continuous)
    }

    func releaseLeaderWaiters() {
        let waiting = leaderWaiters
        leaderWaiters = []
        for waiter in waiting { waiter.continuation.resume() }
        releaseWritesAwaitingLeader()
    }

    func expireOverdueWaiters() {
        let now = ContinuousClock.now
        if !leaderWaiters.isEmpty {
            let overdue = leaderWaiters.filter { $0.deadline <= now }
            leaderWaiters.removeAll { $0.deadline <= now }
            for waiter in overdue { waiter.continuation.resume(throwing: RuntimeError.unavailable("no leader was elected in time")) }
        }
        if !writesAwaitingLeader.isEmpty {
            let overdue = writesAwaitingLeader.filter { $0.deadline <= now }
            writesAwaitingLeader.removeAll { $0.deadline <= now }
            for write in overdue { write.fail(write.obstacle) }
        }
        expireOverdueReads(now: now)
        if !proposals.isEmpty {
            for (index, waiting) in proposals {
                let overdue = waiting.filter { $0.deadline <= now }
                guard !overdue.isEmpty else { continue }
                let remaining = waiting.filter { $0.deadline > now }
                proposals[index] = remaining.isEmpty ? nil : remaining
                for proposal in overdue { proposal.resume(.failure(.timedOut)) }
            }
        }
    }

    func failAllWaiters(_ error: RuntimeError) {
        failProposals(error)
        failReads(error)
        for waiter in leaderWaiters { waiter.continuation.resume(throwing: error) }
        leaderWaiters = []
        let writes = writesAwaitingLeader + writesAwaitingTick
        writesAwaitingLeader = []
        writesAwaitingTick = []
        for write in writes { write.fail(error) }
    }
}
