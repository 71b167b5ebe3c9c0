import Synchronization

/// Lets at most one log line through per interval and counts the ones it held back. Anyone
/// who can reach the Raft port can make this node refuse connections as fast as it can dial;
/// without a throttle each refusal would be a log line, and the log (and the disk under it)
/// would be theirs to fill.
final class LogThrottle: Sendable {
    private struct State {
        var lastAdmitted: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether a line may be logged at `now`: nil when it must be dropped (it is counted),
    /// otherwise how many lines were dropped since the last one let through, to mention.
    func admit(now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if let last = state.lastAdmitted, now - last < interval {
                state.suppressed += 1
                return nil
            }
            state.lastAdmitted = now
            defer { state.suppressed = 0 }
            return state.suppressed
        }
    }
}

extension LogThrottle {
    /// Runs `log` with a suffix naming the lines dropped before it, if the throttle allows.
    func log(_ log: (String) -> Void) {
        guard let suppressed = admit() else { return }
        log(suppressed > 0 ? " (\(suppressed) similar lines suppressed)" : "")
    }
}
