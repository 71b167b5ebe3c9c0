import FoundationEssentials
import KVStore
import Synchronization

/// Counters and histograms the runtime updates and `/metrics` renders. Updates come from
/// the runtime actor and the HTTP handlers, so they sit behind one lock.
public final class NodeMetrics: Sendable {
    public struct Histogram: Sendable {
        /// Upper bounds in seconds (Prometheus `le`), from 100 µs to 10 s.
        public static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        public var counts = [UInt64](repeating: 0, count: Histogram.bounds.count)
        public var count: UInt64 = 0
        public var sum: Double = 0

        mutating func observe(_ seconds: Double) {
            count += 1
            sum += seconds
            if let bucket = Histogram.bounds.firstIndex(where: { seconds <= $0 }) { counts[bucket] += 1 }
        }
    }

    public struct Values: Sendable {
        public var proposals: UInt64 = 0
        public var proposalsFailed: UInt64 = 0
        /// Writes this node forwarded to the leader, and the peer requests that carried them.
        public var forwardedWrites: UInt64 = 0
        public var forwardRequests: UInt64 = 0
        public var leaderChanges: UInt64 = 0
        public var readyBatches: UInt64 = 0
        public var entriesPersisted: UInt64 = 0
        public var entriesApplied: UInt64 = 0
        public var linearizableReads: UInt64 = 0
        /// Read indexes asked of RaftCore: each covers the linearizable reads gathered
        /// between two turns of the Ready loop.
        public var readIndexRequests: UInt64 = 0
        /// LMDB commits with both syncs (data, then meta page): batches holding snapshot data.
        /// The rest of `syncDuration`'s count are commits with one sync, which the
        /// write-ahead log can replay.
        public var durableCommits: UInt64 = 0
        /// LMDB commits: copying a batch into LMDB's log and applying.
        public var syncDuration = Histogram()
        /// Write-ahead log appends, one flush each: new entries, a term or a vote.
        public var walSyncDuration = Histogram()
        /// HTTP request durations by "method route status".
        public var http: [String: Histogram] = [:]
    }

    private let values = Mutex(Values())

    public init() {}

    public var snapshot: Values { values.withLock { $0 } }

    func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }

    public func observeHTTP(method: String, route: String, status: Int, seconds: Double) {
        values.withLock { $0.http["\(method) \(route) \(status)", default: Histogram()].observe(seconds) }
    }
}
