/// How much history of changes a node keeps (`--history-revisions`, `--history-age`;
/// Docs/API.md, "History and compaction").
public struct HistoryRetention: Sendable, Equatable {
    /// Revisions kept at most behind the current one; 0: no count limit.
    public var revisions: UInt64 = 100_000
    /// Changes older than this are compacted; nil: no age limit.
    public var age: Duration?

    public init(revisions: UInt64 = 100_000, age: Duration? = nil) {
        self.revisions = revisions
        self.age = age
    }

    /// Parses `30s`, `10m`, `1h` (or `2d`): a whole positive number and a unit.
    public static func parseAge(_ text: String) -> Duration? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3_600
        case "d": seconds = 86_400
        default: return nil
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: seconds)
        guard !overflow, total <= 10 * 365 * 86_400 else { return nil }
        return .seconds(total)
    }
}

/// Decides when the leader proposes `.compact(revision:)`, and up to which revision.
///
/// Not on every write: by count, once the retained span exceeds the limit by a step (a tenth
/// of the limit, at most 1,000 revisions), so one compaction entry and one pass over the
/// history database serve many writes. By age, from (time, revision) samples every node
/// takes of its own applied revision: everything at or below a revision this node had
/// applied at least `age` ago was written at least `age` ago. Followers sample too, so a new
/// leader enforces the age at once; a node that just started keeps more history for a
/// while, never less.
struct HistoryCompactor {
    let retention: HistoryRetention
    /// A compaction proposal is in flight: no other is made until it ends.
    var inFlight = false
    /// Through this revision there is nothing left to compact, as this node last learned:
    /// the compact revision, or a revision up to which no event is retained. It spares a
    /// read of the store on most ticks.
    var knownCompactRevision: UInt64 = 0
    private var samples: [(time: ContinuousClock.Instant, revision: UInt64)] = []
    private var lastSample: ContinuousClock.Instant?

    init(retention: HistoryRetention) {
        self.retention = retention
    }

    /// Revisions by which the span may exceed the count limit before a compaction is proposed.
    var step: UInt64 { max(1, min(retention.revisions / 10, 1_000)) }

    /// How often the age rule samples the revision: often enough for the age it enforces
    /// (a twentieth of it), never more than once a tick's worth nor less than once a second.
    var sampleInterval: Duration {
        guard let age = retention.age else { return .seconds(1) }
        return min(.seconds(1), max(.milliseconds(10), age / 20))
    }

    /// Records the revision now and then, for the age rule.
    mutating func sample(revision: UInt64, now: ContinuousClock.Instant) {
        guard retention.age != nil else { return }
        if let lastSample, now - lastSample < sampleInterval { return }
        lastSample = now
        // An unchanged revision adds nothing: the earlier sample already dates it.
        if let last = samples.last, last.revision == revision { return }
        samples.append((now, revision))
        // Only the newest sample old enough to act on, and those younger, are ever needed.
        if let age = retention.age, let oldest = samples.lastIndex(where: { now - $0.time >= age }), oldest > 0 {
            samples.removeFirst(oldest)
        }
    }

    /// The revision to compact through, if one is due; `compacted` is the store's compact
    /// revision (or this node's idea of it).
    func target(revision: UInt64, compacted: UInt64, now: ContinuousClock.Instant) -> UInt64? {
        var target: UInt64 = 0
        let limit = retention.revisions
        // `limit + step` is never formed: a `--history-revisions` near the largest number would overflow it.
        if limit > 0, revision > compacted, revision - compacted > limit, revision - compacted - limit > step {
            target = revision - limit
        }
        if let age = retention.age, let old = samples.last(where: { now - $0.time >= age }) {
            target = max(target, min(old.revision, revision))
        }
        return target > compacted ? target : nil
    }

    /// Nothing left to compact through `revision`: samples at or below it are no longer needed.
    mutating func compacted(through revision: UInt64) {
        knownCompactRevision = max(knownCompactRevision, revision)
        samples.removeAll { $0.revision <= revision }
    }

    /// Samples held, for tests of the bound.
    var sampleCount: Int { samples.count }
}
