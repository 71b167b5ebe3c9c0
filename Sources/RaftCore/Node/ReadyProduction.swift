/// The hand-off between the pure node and the program that embeds it.
extension RaftNode {
    /// Upper bound on the bytes of committed entries handed out in one Ready.
    static let maxApplyBytesPerReady = 64 << 20

    /// Whether `ready()` has anything to hand out.
    public var hasReady: Bool {
        if awaitingAdvance { return false }
        return (role == .leader && (needsBroadcast || reads.roundAwaitingBroadcast)) || !outbox.isEmpty
            || softState != handedOutSoftState || hardState != handedOutHardState
            || !log.unstableEntries.isEmpty || !pendingSnapshotChunks.isEmpty || snapshotReadyToInstall != nil
            || !readStates.isEmpty || !reads.abandoned.isEmpty
            || log.hasEntriesToApply
    }

    /// Collects what must be persisted, sent and applied. Call `advance(_:)` with the
    /// result before asking again; steps and proposals in between go into the next Ready.
    public mutating func ready() -> Ready {
        precondition(!awaitingAdvance, "ready() called twice without advance()")
        if role == .leader {
            if needsBroadcast { broadcastAppend() }
            if reads.roundAwaitingBroadcast { broadcastHeartbeat() }
        }
        needsBroadcast = false
        reads.roundAwaitingBroadcast = false
        var ready = Ready()
        if softState != handedOutSoftState {
            ready.softState = softState
            handedOutSoftState = softState
        }
        // The previous Ready was advanced, so what it handed out is durable.
        let durable = handedOutHardState
        if hardState != durable {
            ready.hardState = hardState
            handedOutHardState = hardState
        }
        ready.entries = log.unstableEntries
        ready.snapshotChunks = pendingSnapshotChunks
        pendingSnapshotChunks = []
        ready.snapshotToInstall = snapshotReadyToInstall
        snapshotReadyToInstall = nil
        ready.mustSync = hardState.term != durable.term || hardState.vote != durable.vote || !ready.entries.isEmpty
            || !ready.snapshotChunks.isEmpty || ready.snapshotToInstall != nil
        if role == .leader && term == durable.term {
            for message in outbox {
                if message.body.isReplication { ready.replicationMessages.append(message) } else { ready.messages.append(message) }
            }
        } else {
            ready.messages = outbox
        }
        outbox = []
        ready.committedEntries = log.takeCommittedEntries(maxBytes: Self.maxApplyBytesPerReady)
        ready.readStates = readStates
        readStates = []
        ready.abandonedReads = reads.abandoned
        reads.abandoned = []
        awaitingAdvance = true
        return ready
    }

    /// Reports that everything in `ready` was done: persisted, sent and applied.
    public mutating func advance(_ ready: Ready) {
        precondition(awaitingAdvance, "advance() without ready()")
        awaitingAdvance = false
        if let snapshot = ready.snapshotToInstall {
            log.snapshotInstalled(snapshot)
        }
        if let last = ready.entries.last {
            log.stableTo(index: last.index, term: last.term)
            ownLogPersisted()
        }
        for entry in ready.committedEntries {
            log.appliedTo(entry.index)
            if entry.kind == .configChange { applyConfChange(entry) }
        }
        // Entries taken early while this Ready was out come after its own.
        log.appliedTo(log.handedOut)
    }

    /// Committed entries the application may apply now, while the last Ready is still out
    /// (its disk write in flight), instead of waiting for the next Ready.
    ///
    /// Why: a leader takes its next Ready as soon as its own write ends, and the followers'
    /// acknowledgements for that batch usually arrive just after, during the next write.
    /// Without this, each batch's answers would wait out one more unrelated flush.
    ///
    /// Only between `ready()` and `advance(_:)`; empty otherwise. The entries follow
    /// everything handed out before, so they must be applied after the outstanding Ready's
    /// `committedEntries`. They are durable here already, and the run stops before any
    /// configuration change: membership changes take effect at `advance`, so those come in
    /// the next Ready. `advance` counts these entries as applied.
    public mutating func takeCommittedEntries() -> [Entry] {
        guard awaitingAdvance else { return [] }
        return log.takeCommittedEntries(maxBytes: Self.maxApplyBytesPerReady, stopBeforeConfChange: true)
    }
}
