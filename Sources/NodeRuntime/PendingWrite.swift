import KVStore
import Synchronization

/// A write on its way into the log. A client's write on this node and a write a follower
/// forwarded here are the same thing to the runtime: one path proposes, forwards, waits for
/// a leader and retries both (`NodeRuntime+Writes.swift`).
struct PendingWrite: Sendable {
    /// The encoded `KVCommand`, validated before it became a pending write.
    var command: [UInt8]
    var deadline: ContinuousClock.Instant
    /// False for a write a follower forwarded: it is proposed here or refused with
    /// `.notLeader`, never forwarded again, so a write cannot circle between two nodes that
    /// each believe the other leads.
    var mayForward: Bool
    /// The authenticated client this write is made for (with `--auth-file`); sent along if
    /// the write is forwarded, for the leader's audit log.
    var identity: String? = nil
    /// `KVCommand.resultIsKnownAtCommit`: answered when its entry commits.
    var resultIsKnownAtCommit = false
    /// Why the last attempt could not go ahead: what the client hears if the deadline
    /// passes before the write reaches a leader's log.
    var obstacle: RuntimeError = .unavailable("no leader was elected in time")
    /// Called exactly once, on whichever thread learns the outcome; must not block.
    var completion: @Sendable (Result<KVResult, RuntimeError>) -> Void

    func fail(_ error: RuntimeError) { completion(.failure(error)) }
}

/// Writes handed to the runtime from outside the actor, waiting to be proposed.
///
/// Why: a task per write, a hop onto the actor and a continuation resumed on yet another
/// thread cost more CPU than Raft itself under load. Here callers only take a lock and
/// append; one job per batch moves the whole inbox onto the actor, on the actor's own
/// event loop, and each answer is a callback made where the outcome became known.
final class ProposalInbox: Sendable {
    private let state = Mutex<(writes: [PendingWrite], drainScheduled: Bool)>(([], false))

    /// Returns true when the caller must schedule a drain (none is pending).
    func add(_ write: PendingWrite) -> Bool {
        state.withLock { state in
            state.writes.append(write)
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
    }

    /// Everything waiting; a later `add` schedules a new drain.
    func takeAll() -> [PendingWrite] {
        state.withLock { state in
            defer { state = ([], false) }
            return state.writes
        }
    }
}
