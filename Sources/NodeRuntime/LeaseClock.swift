import KVStore

/// When each lease this node knows runs out, on this node's clock (Docs/API.md, "Leases").
///
/// The state machine keeps leases without time, so applying never depends on when an entry
/// is applied. Time lives here instead: every node starts a lease's clock when its grant or a
/// keepalive applies locally, and restarts every clock at full TTL when a new leader is
/// known (a failover must not expire a lease whose holder kept it alive, however long the
/// election took). Only the leader acts on a deadline, by proposing the revocation; the
/// other nodes' clocks only answer "how long is left".
struct LeaseClock {
    struct Timer {
        var ttl: Duration
        var deadline: ContinuousClock.Instant
        /// The leader proposed this lease's revocation and has not heard the outcome:
        /// it is not proposed again meanwhile.
        var revoking = false
    }

    private(set) var timers: [UInt64: Timer] = [:]

    /// A grant or a keepalive of `id` applied here: a full TTL from now.
    mutating func restart(_ id: UInt64, ttlSeconds: Int64, now: ContinuousClock.Instant) {
        let ttl = Duration.seconds(ttlSeconds)
        let revoking = timers[id]?.revoking ?? false
        timers[id] = Timer(ttl: ttl, deadline: now + ttl, revoking: revoking)
    }

    /// A new leader: every lease in `leases` gets its full TTL from now, and nothing else is kept.
    mutating func restartAll(_ leases: [LeaseRecord], now: ContinuousClock.Instant) {
        var fresh: [UInt64: Timer] = [:]
        fresh.reserveCapacity(leases.count)
        for lease in leases {
            let ttl = Duration.seconds(lease.ttlSeconds)
            fresh[lease.id] = Timer(ttl: ttl, deadline: now + ttl, revoking: timers[lease.id]?.revoking ?? false)
        }
        timers = fresh
    }

    /// Brings the timers in line with the leases the state machine holds: a lease revoked (by
    /// a client, or by a leader whose proposal this node did not make) is forgotten, one this
    /// node has no timer for (restored from a snapshot) gets a full TTL, the others keep theirs.
    mutating func reconcile(with leases: [LeaseRecord], now: ContinuousClock.Instant) {
        var kept: [UInt64: Timer] = [:]
        kept.reserveCapacity(leases.count)
        for lease in leases {
            if let timer = timers[lease.id] {
                kept[lease.id] = timer
            } else {
                let ttl = Duration.seconds(lease.ttlSeconds)
                kept[lease.id] = Timer(ttl: ttl, deadline: now + ttl)
            }
        }
        timers = kept
    }

    /// Time left for `id`: nil when this node has no timer for it, zero once past its deadline.
    func remaining(_ id: UInt64, now: ContinuousClock.Instant) -> Duration? {
        guard let timer = timers[id] else { return nil }
        return max(.zero, timer.deadline - now)
    }

    /// Leases past their deadline whose revocation is not already proposed, marked as being
    /// revoked now: the caller proposes each revocation once.
    mutating func takeOverdue(now: ContinuousClock.Instant) -> [UInt64] {
        var due: [UInt64] = []
        for (id, timer) in timers where !timer.revoking && timer.deadline <= now { due.append(id) }
        for id in due { timers[id]?.revoking = true }
        return due.sorted()
    }

    /// The revocation proposed for `id` did not apply (lost leadership, a timeout): the
    /// lease may be proposed again at a later tick if it is still overdue.
    mutating func revocationFailed(_ id: UInt64) {
        timers[id]?.revoking = false
    }

    mutating func forget(_ id: UInt64) {
        timers[id] = nil
    }

    var count: Int { timers.count }
}

