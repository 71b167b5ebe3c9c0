import KVStore
import RaftCore
import Synchronization

/// Proposals answered from the write thread as soon as applying them has produced their
/// results, before the transaction that holds those results commits.
///
/// That is safe because what is applied is committed, so already durable on a majority of
/// logs: a crash before the commit only means the entries are applied again, with the same
/// results, on restart. Linearizable reads still see every answered write, because they
/// wait for the applied index, which moves only after the commit. The gain is one disk
/// sync less between a write and its answer. (Plain puts do not even wait for the apply:
/// `NodeRuntime.takeProposals` answers them at commit.)
final class EarlyAnswers: Sendable {
    private let waiting: Mutex<[UInt64: [PendingProposal]]>

    init(_ waiting: [UInt64: [PendingProposal]]) {
        self.waiting = Mutex(waiting)
    }

    /// Answers whoever waits on these entries; later calls (a retried transaction) find
    /// nobody left to answer. Membership changes are left to the runtime, which must update
    /// its address book first.
    func answer(_ results: [AppliedEntry]) {
        for result in results {
            if case .membership = result.outcome { continue }
            guard let proposals = waiting.withLock({ $0.removeValue(forKey: result.index) }) else { continue }
            for proposal in proposals { proposal.finish(appliedTerm: result.term, outcome: result.outcome) }
        }
    }

    /// Whoever is still waiting (membership changes, or entries the batch did not reach).
    func remaining() -> [UInt64: [PendingProposal]] {
        waiting.withLock { pending in
            defer { pending = [:] }
            return pending
        }
    }
}
