import FoundationEssentials
import KVStore
import RaftCore
import Transport

/// The one write path. Whatever its origin (a client of this node through `submit`, or a
/// follower's forward arriving over the transport) a write becomes a `PendingWrite` and goes
/// through `propose(_:)`, which, on the actor:
/// - proposes it to RaftCore when this node leads, and answers it when its entry is applied
///   (a plain put when it commits, `takeProposals`);
/// - forwards it to the leader when another node leads (unless it was forwarded already);
/// - parks it until a leader is known, or until the next tick when the leader pushes back.
/// A write whose entry lost its index to another leader's entry was not applied: it goes
/// round again. Nothing here starts a task per write, and nothing runs on Swift's shared pool:
/// the actor runs on the transport's event loop, and answers are callbacks.
extension NodeRuntime {
    /// Replicates `command` and calls `completion` once with its result, on an arbitrary
    /// thread; `completion` must not block. Any node accepts writes: a follower forwards to
    /// the leader. A write waits for a leader for up to the request timeout, never longer.
    /// `identity` names the authenticated client the write is made for, if any: a follower
    /// sends it with the forwarded write, and the leader logs it (Docs/TRANSPORT.md,
    /// "Forwarded requests"); it is not part of the command and changes nothing it does.
    public nonisolated func submit(_ command: KVCommand, identity: String? = nil,
                                   completion: @escaping @Sendable (Result<KVResult, RuntimeError>) -> Void) {
        do { try command.validate() } catch { return completion(.failure(RuntimeError(error))) }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        enqueue(PendingWrite(command: command.encoded(), deadline: deadline, mayForward: true, identity: identity,
                             resultIsKnownAtCommit: command.resultIsKnownAtCommit, completion: completion))
    }

    /// `submit(_:completion:)` for a caller in a task.
    public nonisolated func submit(_ command: KVCommand) async throws(RuntimeError) -> KVResult {
        try await withCheckedContinuation { done in submit(command) { done.resume(returning: $0) } }.get()
    }

    /// Hands `write` to the actor from any thread; one job drains whatever has gathered.
    nonisolated func enqueue(_ write: PendingWrite) {
        guard inbox.add(write) else { return }
        Task(executorPreference: executor) { await self.drainInbox() }
    }

    func drainInbox() {
        for write in inbox.takeAll() { propose(write) }
        flushForwards()
        wake()
    }

    /// Takes `write` one step further: into the log, to the leader, or into a wait.
    func propose(_ write: PendingWrite) {
        guard !isStopped else { return write.fail(.shuttingDown) }
        guard ContinuousClock.now < write.deadline else { return write.fail(write.obstacle) }
        if storageFull { return write.fail(.storageFull) }
        if raft.isLeader {
            appendToLog(write)
        } else if !write.mayForward {
            write.fail(.notLeader(leader: raft.currentLeader, address: raft.currentLeader.flatMap { members[$0] }))
        } else if let leader = raft.currentLeader {
            forward(write, to: leader)
        } else {
            writesAwaitingLeader.append(write)
        }
    }

    private func appendToLog(_ write: PendingWrite) {
        let receipt: ProposalReceipt
        do {
            receipt = try raft.propose(write.command)
        } catch {
            // Backpressure or a leadership transfer: try again at the next tick.
            return deferWrite(write, obstacle: RuntimeError(error))
        }
        metrics.update { $0.proposals += 1 }
        waitForApply(receipt, deadline: write.deadline, answersAtCommit: write.resultIsKnownAtCommit) { [self] result in
            switch result {
            case .success(.applied(let outcome)):
                write.completion(Result { () throws(RuntimeError) in try Self.result(of: outcome) })
            case .success(.lost):
                // Another leader's entry took the index: nothing was applied, so go again.
                enqueue(write)
            case .failure(let error):
                metrics.update { $0.proposalsFailed += 1 }
                write.fail(error)
            }
        }
    }

    /// `deferWrite` from a transport callback, which runs off the actor.
    nonisolated func retryAtNextTick(_ write: PendingWrite, obstacle: RuntimeError) {
        Task(executorPreference: executor) { await self.deferWrite(write, obstacle: obstacle) }
    }

    /// Parks `write` until the next tick, recording why it could not go ahead now.
    private func deferWrite(_ write: PendingWrite, obstacle: RuntimeError) {
        guard !isStopped else { return write.fail(.shuttingDown) }
        var write = write
        write.obstacle = obstacle
        writesAwaitingTick.append(write)
    }

    /// Called each tick: writes parked by backpressure, a transfer or a stale leader go again.
    func retryWritesAwaitingTick() {
        guard !writesAwaitingTick.isEmpty else { return }
        let due = writesAwaitingTick
        writesAwaitingTick = []
        for write in due { propose(write) }
        flushForwards()
    }

    /// A leader is known again: writes that waited for one go ahead.
    func releaseWritesAwaitingLeader() {
        guard !writesAwaitingLeader.isEmpty else { return }
        let waiting = writesAwaitingLeader
        writesAwaitingLeader = []
        for write in waiting { propose(write) }
        flushForwards()
    }

    static func result(of outcome: ApplyOutcome) throws(RuntimeError) -> KVResult {
        switch outcome {
        case .applied(let result), .duplicate(let result): return result
        case .staleRequest: throw .conflict("a newer request with this Idempotency-Key's client was already applied")
        case .requestMismatch: throw .unprocessable("Idempotency-Key reused with a different request")
        case .resultEvicted:
            throw .conflict("Idempotency-Key was used before and its result is no longer kept; the request was not applied again")
        case .rejected(let error): throw RuntimeError(error)
        case .alreadyApplied, .noop, .membership: throw .internalError("unexpected outcome \(outcome)")
        }
    }
}
