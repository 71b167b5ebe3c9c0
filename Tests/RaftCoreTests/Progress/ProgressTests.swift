import RaftCore
import Testing

/// `Progress`, the leader's view of one follower: the probe / replicate / snapshot states
/// and the rules for acknowledgements and rejections. Indexes and hints in `acknowledge` and
/// `backOff` come from the follower's answers.
@Suite("Progress")
struct ProgressTests {
    static let snapshot = SnapshotMetadata(index: 20, term: 3, conf: ConfState(voters: ["n1", "n2"]))

    /// A follower the leader (last index 10) has just started probing.
    static func fresh(maxInflight: Int = 4) -> Progress {
        Progress(next: 11, isLearner: false, maxInflight: maxInflight)
    }

    /// The leader's terms by index for `backOff`'s term search: 1–4 term 1, 5–7 term 2, 8–10 term 4.
    static func leaderLastIndex(ofTerm term: UInt64) -> UInt64? {
        switch term {
        case 1: return 4
        case 2: return 7
        case 4: return 10
        default: return nil
        }
    }

    // MARK: States

    @Test("a new follower is probed: one message at a time, until its answer or a retry")
    func probePausesAfterOneMessage() {
        var progress = Self.fresh()
        #expect(progress.state == .probe && progress.match == 0 && progress.next == 11)
        #expect(!progress.isPaused)
        progress.probeSentAt = 7
        #expect(progress.isPaused && progress.probeSent)
        #expect(progress.acknowledge(upTo: 10) == true)
        #expect(!progress.isPaused, "an answer that moves match releases the next probe")
    }

    @Test("replicate streams until the in-flight window is full and starts after what matches")
    func replicatePausesOnAFullWindow() {
        var progress = Self.fresh(maxInflight: 2)
        #expect(progress.acknowledge(upTo: 6) == true)
        progress.becomeReplicate()
        #expect(progress.state == .replicate && progress.next == 7)
        progress.inflights.add(8)
        #expect(!progress.isPaused)
        progress.inflights.add(10)
        #expect(progress.isPaused)
        progress.inflights.free(upTo: 8)
        #expect(!progress.isPaused)
    }

    @Test("snapshot state pauses appends; probing after it resumes past the snapshot")
    func snapshotThenProbe() {
        var progress = Self.fresh()
        progress.inflights.add(11)
        progress.becomeSnapshot(Self.snapshot)
        #expect(progress.isPaused && progress.inflights.count == 0)
        guard case .snapshot(let transfer) = progress.state else {
            Issue.record("not in snapshot state")
            return
        }
        #expect(transfer.metadata == Self.snapshot && transfer.ackedOffset == 0 && transfer.sentOffset == 0 && !transfer.sentLast)
        progress.becomeProbe()
        #expect(progress.state == .probe && progress.next == 21, "the follower holds everything the snapshot covers")
    }

    @Test("probing after replicate restarts right after what matches, with an empty window")
    func replicateThenProbe() {
        var progress = Self.fresh()
        #expect(progress.acknowledge(upTo: 5) == true)
        progress.becomeReplicate()
        progress.next = 12
        progress.inflights.add(11)
        progress.stalledIntervals = 3
        progress.becomeProbe()
        #expect(progress.next == 6 && progress.inflights.count == 0 && progress.stalledIntervals == 0 && !progress.probeSent)
    }

    // MARK: Acknowledgements

    @Test("an acknowledgement moves match forward only; a stale one reports nothing new")
    func acknowledgeRules() {
        var progress = Self.fresh()
        #expect(progress.acknowledge(upTo: 0) == false, "a fresh follower acknowledging nothing teaches nothing")
        #expect(progress.next == 11)
        #expect(progress.acknowledge(upTo: 8) == true)
        #expect(progress.match == 8 && progress.next == 11, "next never moves back")
        #expect(progress.acknowledge(upTo: 8) == false)
        #expect(progress.acknowledge(upTo: 3) == false)
        #expect(progress.match == 8)
        #expect(progress.acknowledge(upTo: 15) == true)
        #expect(progress.match == 15 && progress.next == 16)
    }

    @Test("an acknowledgement of UInt64.max saturates instead of trapping")
    func acknowledgeTopIndex() {
        var progress = Self.fresh()
        #expect(progress.acknowledge(upTo: .max) == true)
        #expect(progress.match == .max && progress.next == .max)
    }

    // MARK: Rejections

    @Test("in replicate, a rejection above match drops to probe; one at or below match is stale")
    func backOffInReplicate() {
        var progress = Self.fresh()
        #expect(progress.acknowledge(upTo: 6) == true)
        progress.becomeReplicate()
        progress.next = 11
        #expect(progress.backOff(rejected: 6, hintIndex: 0, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == false)
        #expect(progress.state == .replicate)
        #expect(progress.backOff(rejected: 9, hintIndex: 0, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.state == .probe && progress.next == 7)
    }

    @Test("in probe, only the answer to the outstanding probe counts")
    func backOffInProbeOnlyForTheLatestProbe() {
        var progress = Self.fresh()
        progress.probeSentAt = 1
        #expect(progress.backOff(rejected: 7, hintIndex: 3, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == false)
        #expect(progress.next == 11 && progress.probeSent)
        #expect(progress.backOff(rejected: 10, hintIndex: 3, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 3 && !progress.probeSent, "a follower with a short log names where it ends")
    }

    @Test("a hint naming a term the leader also has skips to just after the leader's last entry of that term")
    func backOffUsesTheConflictTerm() {
        var progress = Self.fresh()
        // The follower's entry 10 has term 2 and its term-2 run starts at 6.
        #expect(progress.backOff(rejected: 10, hintIndex: 6, hintTerm: 2, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 8)
        // A term the leader never had: fall back on the follower's index.
        #expect(progress.backOff(rejected: 7, hintIndex: 5, hintTerm: 3, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 5)
    }

    @Test("next stays within match + 1 ... rejected whatever the hint says, including 0 and UInt64.max")
    func backOffBounds() {
        var progress = Self.fresh()
        #expect(progress.acknowledge(upTo: 4) == true)
        #expect(progress.backOff(rejected: 10, hintIndex: 0, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 5, "never below what is known to match")

        progress = Self.fresh()
        #expect(progress.backOff(rejected: 10, hintIndex: .max, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 10, "never above the rejected index")

        progress = Self.fresh()
        #expect(progress.backOff(rejected: 10, hintIndex: .max, hintTerm: .max, lastIndexOfTerm: Self.leaderLastIndex) == true)
        #expect(progress.next == 10)

        progress = Self.fresh()
        #expect(progress.backOff(rejected: .max, hintIndex: 0, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == false)
        #expect(progress.backOff(rejected: 0, hintIndex: 0, hintTerm: 0, lastIndexOfTerm: Self.leaderLastIndex) == false)
        #expect(progress.next == 11)
    }
}
