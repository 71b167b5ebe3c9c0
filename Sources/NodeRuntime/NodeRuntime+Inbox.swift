import KVStore
import RaftCore
import Synchronization

/// Writes handed to the runtime from outside the actor, waiting to be proposed.
///
/// Why: `await runtime.submit(...)` costs a task per write, a hop onto the actor and a
/// continuation resumed on yet another thread before the answer can go back to its event
/// loop. Under load those hand-offs, not Raft, were most of a write's CPU. Here callers
/// only take a lock and append; one task per batch moves the whole inbox onto the actor,
/// and each answer is a callback made where the outcome became known.
final class ProposalInbox: Sendable {
    struct Item: Sendable {
        var command: KVCommand
        var deadline: ContinuousClock.Instant
        var completion: @Sendable (Result<KVResult, RuntimeError>) -> Void
    }

    private let state = Mutex<(items: [Item], drainScheduled: Bool)>(([], false))

    /// Returns true when the caller must schedule a drain (none is pending).
    func add(_ item: Item) -> Bool {
        state.withLock { state in
            state.items.append(item)
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
    }

    /// Everything waiting; a later `add` schedules a new drain.
    func takeAll() -> [Item] {
        state.withLock { state in
            defer { state = ([], false) }
            return state.items
        }
    }
}

extension NodeRuntime {
    /// Replicates `command` and calls `completion` once with its result; the same contract
    /// as `submit(_:)`, for callers (an event loop) that should not start a task per write.
    /// `completion` runs on an arbitrary thread and must not block.
    public nonisolated func submit(_ command: KVCommand,
                                   completion: @escaping @Sendable (Result<KVResult, RuntimeError>) -> Void) {
        do { try command.validate() } catch { return completion(.failure(RuntimeError(error))) }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        guard inbox.add(.init(command: command, deadline: deadline, completion: completion)) else { return }
        Task(executorPreference: executor) { await self.proposeInbox() }
    }

    /// Proposes every waiting write while this node leads; anything else (a follower that
    /// must forward, backpressure, no leader) takes the general path of `submit(_:)`.
    func proposeInbox() {
        var proposed = false
        for item in inbox.takeAll() {
            guard !isStopped, !storageFull, raft.isLeader, let receipt = try? raft.propose(item.command.encoded()) else {
                submitInTask(item)
                continue
            }
            proposed = true
            metrics.update { $0.proposals += 1 }
            waitForApply(receipt, deadline: item.deadline) { result in
                switch result {
                case .success(.applied(let outcome)):
                    item.completion(Result { () throws(RuntimeError) in try Self.result(of: outcome) })
                case .success(.lost):
                    // Another leader's entry took the index: nothing was applied, so retry.
                    self.submitInTask(item)
                case .failure(let error):
                    self.metrics.update { $0.proposalsFailed += 1 }
                    item.completion(.failure(error))
                }
            }
        }
        if proposed { wake() }
    }

    private nonisolated func submitInTask(_ item: ProposalInbox.Item) {
        Task {
            do throws(RuntimeError) {
                item.completion(.success(try await self.submit(item.command)))
            } catch {
                item.completion(.failure(error))
            }
        }
    }
}
