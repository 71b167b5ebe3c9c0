import Synchronization

/// The bytes all inbound connections together may hold: what sits in their receive buffers
/// (partial frames included) plus the decoded events the consumer has not taken yet.
///
/// Why: a frame may be up to `maxFrameSize`, and without a shared bound every connection could
/// hold one partial frame, so the node's memory would be whatever the number of connections
/// times that size came to. A connection reserves bytes here before it reads from its socket
/// (`readSize` of headroom, or the whole remainder of a frame whose header it has seen); when
/// the budget has no room it stops reading and TCP slows the sender. Bytes go back when the
/// consumer takes an event, or when a connection closes.
///
/// A frame whose header has arrived is reserved whole, at once or not at all, so a connection
/// holding a reservation can always finish its frame: partial frames never wedge the budget
/// among themselves.
final class InboundBudget: Sendable {
    /// The most bytes one socket read takes (inbound channels use a receive allocator capped
    /// at this and one read per `read()` call), so headroom of this much covers one read.
    static let readSize = 64 * 1024

    private struct State {
        var used = 0
        var peak = 0
        var waiting: [ObjectIdentifier: @Sendable () -> Void] = [:]
    }

    let limit: Int
    private let state = Mutex(State())

    /// The limit is raised, if needed, to one maximal frame plus one read's headroom for
    /// every connection that may be open: idle connections keep their headroom, and a frame
    /// must still fit beside all of them or it could wait forever.
    init(limit: Int, maxFrameSize: Int, maxConnections: Int) {
        self.limit = max(limit, maxFrameSize + FrameHeader.lengthSize + Self.readSize * (max(maxConnections, 0) + 1))
    }

    /// Bytes currently accounted, and the most ever accounted at once (for tests and metrics).
    var used: Int { state.withLock { $0.used } }
    var peak: Int { state.withLock { $0.peak } }
    /// Connections waiting for room right now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Takes `bytes` if they fit under the limit. When they do not, registers `wakeUp` under
    /// `key` to run on the next release and returns false.
    func reserve(_ bytes: Int, key: ObjectIdentifier, wakeUp: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard state.used + bytes <= limit else {
                state.waiting[key] = wakeUp
                return false
            }
            state.used += bytes
            state.peak = max(state.peak, state.used)
            state.waiting.removeValue(forKey: key)
            return true
        }
    }

    /// Counts bytes that are already in memory (a read that brought more than was reserved).
    func add(_ bytes: Int) {
        guard bytes > 0 else { return }
        state.withLock { state in
            state.used += bytes
            state.peak = max(state.peak, state.used)
        }
    }

    /// Gives bytes back and wakes every connection waiting for room; each checks again.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let wakeUps: [@Sendable () -> Void] = state.withLock { state in
            state.used = max(state.used - bytes, 0)
            guard !state.waiting.isEmpty, state.used < limit else { return [] }
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for wakeUp in wakeUps { wakeUp() }
    }

    func forget(_ key: ObjectIdentifier) {
        _ = state.withLock { $0.waiting.removeValue(forKey: key) }
    }
}
