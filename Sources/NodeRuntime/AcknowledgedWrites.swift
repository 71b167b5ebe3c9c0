import Synchronization

/// Writes this node answered at commit, before applying them (`KVCommand.resultIsKnownAtCommit`),
/// and how far it has applied.
///
/// Why: Docs/API.md ("Consistency") promises that a stale read reflects every write the node
/// serving it acknowledged. A write answered at commit is applied a moment later (usually in
/// the same batch, at worst after an LMDB commit on the write thread), so a stale read
/// arriving in between waits for that apply; when nothing acknowledged is outstanding, which
/// is one lock and a comparison, it does not wait at all.
final class AcknowledgedWrites: Sendable {
    private struct State {
        var acknowledged: UInt64 = 0
        var applied: UInt64 = 0
        var waiting: [(through: UInt64, resume: @Sendable () -> Void)] = []
        /// Applies stopped (the node stopped or its disk is full): nobody waits for them.
        var released = false
    }

    private let state = Mutex(State())

    /// The write at `index` is about to be answered.
    func acknowledged(_ index: UInt64) {
        state.withLock { $0.acknowledged = max($0.acknowledged, index) }
    }

    /// The highest index answered at commit; the revision headers report at least this.
    var highestAcknowledged: UInt64 { state.withLock { $0.acknowledged } }

    /// True when every write acknowledged so far is applied.
    var allApplied: Bool { state.withLock { $0.released || $0.acknowledged <= $0.applied } }

    /// Entries through `index` are applied and readable; called from the write thread.
    func applied(through index: UInt64) {
        let due = state.withLock { s -> [@Sendable () -> Void] in
            guard index > s.applied else { return [] }
            s.applied = index
            guard !s.waiting.isEmpty else { return [] }
            let due = s.waiting.filter { $0.through <= index }.map(\.resume)
            s.waiting.removeAll { $0.through <= index }
            return due
        }
        for resume in due { resume() }
    }

    /// Calls `resume` once every write acknowledged so far is applied: at once, on this
    /// thread, when they are; otherwise from the write thread.
    func whenApplied(_ resume: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.released || s.acknowledged <= s.applied { return true }
            s.waiting.append((s.acknowledged, resume))
            return false
        }
        if now { resume() }
    }

    /// Applies stopped or paused for long (`released`), or resumed (`false`).
    func setReleased(_ released: Bool) {
        let due = state.withLock { s -> [@Sendable () -> Void] in
            s.released = released
            guard released else { return [] }
            defer { s.waiting = [] }
            return s.waiting.map(\.resume)
        }
        for resume in due { resume() }
    }
}
