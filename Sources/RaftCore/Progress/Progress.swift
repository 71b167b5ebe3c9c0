/// The leader's view of one member's log (Figure 2's nextIndex and matchIndex) plus the
/// flow-control state etcd-io/raft popularised:
/// - `probe`: we do not know where the follower's log diverges; send one AppendEntries at a
///   time and wait for the answer, backing up quickly using the follower's hints.
/// - `replicate`: the follower is in sync; stream entries optimistically, bounded by the
///   in-flight window.
/// - `snapshot`: the follower needs entries we compacted; stream a snapshot instead.
package struct Progress: Sendable {
    package enum State: Sendable, Equatable {
        case probe
        case replicate
        case snapshot(SnapshotTransfer)
    }

    /// The snapshot being streamed to this follower and how much of it was acknowledged.
    package struct SnapshotTransfer: Sendable, Equatable {
        package var metadata: SnapshotMetadata
        /// Bytes acknowledged by the follower; the next chunk starts here.
        package var ackedOffset: UInt64
        /// Bytes sent (the next chunk to send starts here) while waiting for acknowledgement.
        package var sentOffset: UInt64
        package var sentLast: Bool
        /// Ticks since the follower last acknowledged a chunk; a stalled transfer restarts.
        package var idleTicks: Int
    }

    package var match: UInt64 = 0
    package var next: UInt64
    package var state: State = .probe
    package var isLearner: Bool
    /// In probe state: the leader tick at which the one outstanding probe left, nil when
    /// none is. Another probe goes only after its answer, or after `probeRetryTicks`.
    package var probeSentAt: UInt64?
    package var inflights: Inflights
    /// Ticks since we last heard from this member (for status and lag reporting).
    package var ticksSinceContact = 0
    /// The commit index last sent, so a commit advance can be announced without new entries.
    package var sentCommit: UInt64 = 0
    /// `match` as of the previous heartbeat, and how many heartbeat intervals in a row it has
    /// not moved while entries were outstanding: a follower stalled for several intervals
    /// probably lost a message, so the leader re-probes it.
    package var matchAtLastHeartbeat: UInt64 = 0
    package var stalledIntervals = 0
    /// The leader tick at which the newest heartbeat this member answered was sent: fresh
    /// evidence that it follows us, which an old message processed late can never be.
    package var answeredHeartbeatSentAt: UInt64

    package init(next: UInt64, isLearner: Bool, maxInflight: Int, maxInflightBytes: Int = .max, now leaderTick: UInt64 = 0) {
        self.next = next
        self.isLearner = isLearner
        self.inflights = Inflights(capacity: maxInflight, byteCapacity: maxInflightBytes)
        self.answeredHeartbeatSentAt = leaderTick
    }

    package var probeSent: Bool { probeSentAt != nil }

    /// Whether sending another AppendEntries now would exceed what this state allows.
    package var isPaused: Bool {
        switch state {
        case .probe: return probeSentAt != nil
        case .replicate: return inflights.isFull
        case .snapshot: return true
        }
    }

    package mutating func becomeProbe() {
        if case .snapshot(let transfer) = state {
            // After a snapshot the follower holds everything up to the snapshot index.
            next = max(match, transfer.metadata.index) + 1
        } else {
            next = match + 1
        }
        state = .probe
        probeSentAt = nil
        stalledIntervals = 0
        inflights.reset()
    }

    package mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSentAt = nil
        stalledIntervals = 0
        inflights.reset()
    }

    package mutating func becomeSnapshot(_ metadata: SnapshotMetadata) {
        state = .snapshot(SnapshotTransfer(metadata: metadata, ackedOffset: 0, sentOffset: 0, sentLast: false, idleTicks: 0))
        probeSentAt = nil
        inflights.reset()
    }

    /// Records an acknowledgement that the follower's log matches up to `index`.
    /// Returns false when the acknowledgement is stale (nothing new was learned).
    package mutating func acknowledge(upTo index: UInt64) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
            probeSentAt = nil
        }
        // Saturates: `step` refuses indexes past our log, but this type does not rely on it.
        next = max(next, index == .max ? index : index + 1)
        return updated
    }

    /// Handles a rejected AppendEntries for `rejected` (its prevLogIndex) and the follower's
    /// hint. `lastIndexOfTerm` finds the leader's last entry of a term, if it has that term.
    /// Returns false when the rejection is stale.
    package mutating func backOff(rejected: UInt64, hintIndex: UInt64, hintTerm: UInt64,
                          lastIndexOfTerm: (UInt64) -> UInt64?) -> Bool {
        if state == .replicate {
            // Rejections of indexes we already know match are answers to old messages.
            if rejected <= match { return false }
            becomeProbe()
            return true
        }
        // In probe state only the answer to the outstanding probe counts.
        if next - 1 != rejected { return false }
        var candidate = hintIndex
        if hintTerm != 0, let leaderLast = lastIndexOfTerm(hintTerm) {
            // We share the conflicting term: the logs agree up to our last entry of it.
            candidate = leaderLast + 1
        }
        next = max(min(candidate, rejected), match + 1)
        probeSentAt = nil
        return true
    }
}
