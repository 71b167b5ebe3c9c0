import KVStore
import RaftCore

/// The runtime's side of leases (Docs/API.md, "Leases"): it feeds `LeaseClock` with what
/// applies and with leadership changes, and as leader proposes the revocation of every
/// lease whose time ran out.
extension NodeRuntime {
    /// Every this many ticks each node reconciles its timers with the leases the state
    /// machine holds, so a lease revoked by a client is forgotten by every node, not only by
    /// the one that served the revocation. About five seconds at the default tick.
    static let leaseReconcileTicks = 500
    /// The leader looks for overdue leases every this many ticks (100 ms at the default
    /// tick), not on every tick: the scan visits every lease, and a tenth of a second is
    /// nothing next to the minimum TTL of twice the election timeout.
    static let leaseExpiryCheckTicks = 10

    /// Timers for what the state machine holds at start: a full TTL each, as after a failover.
    func startLeaseClock() {
        do {
            leaseClock.restartAll(try store.stateMachine.leases(), now: .now)
        } catch {
            logger.error("could not read the leases", metadata: ["error": "\(error)"])
        }
    }

    /// Grants and keepalives applied here restart their lease's clock. A retry answered from
    /// its session (`.duplicate`) did not apply again, and restarts nothing.
    func leasesApplied(_ results: [AppliedEntry]) {
        let now = ContinuousClock.now
        for entry in results {
            guard case .applied(let result) = entry.outcome, case .lease(let id, let ttl) = result.detail else { continue }
            leaseClock.restart(id, ttlSeconds: ttl, now: now)
        }
    }

    /// A new leader is known: every lease gets its full TTL again, on every node, so no
    /// failover expires a lease its holder kept alive, and followers' "remaining" follows
    /// the rule the new leader applies.
    func leasesOnLeaderChange() {
        startLeaseClock()
    }

    /// A snapshot replaced the state: leases it brought get timers, leases it lacks are dropped.
    func leasesRestoredFromSnapshot() {
        reconcileLeases()
    }

    func reconcileLeases() {
        do {
            leaseClock.reconcile(with: try store.stateMachine.leases(), now: .now)
        } catch {
            logger.warning("could not read the leases", metadata: ["error": "\(error)"])
        }
    }

    /// Called each tick. The leader proposes `leaseRevoke(expired: true)` for each lease past
    /// its deadline, once: not again while that proposal is in flight.
    func tickLeases() {
        leaseTicks &+= 1
        if leaseTicks % Self.leaseReconcileTicks == 0 { reconcileLeases() }
        guard leaseTicks % Self.leaseExpiryCheckTicks == 0, raft.isLeader, leaseClock.count > 0 else { return }
        for id in leaseClock.takeOverdue(now: .now) {
            let exists: Bool
            do {
                exists = try store.stateMachine.lease(id) != nil
            } catch {
                leaseClock.revocationFailed(id)
                continue
            }
            guard exists else {
                // Revoked already (by a client, or by an earlier leader's proposal).
                leaseClock.forget(id)
                continue
            }
            proposeExpiry(of: id)
        }
    }

    private func proposeExpiry(of id: UInt64) {
        logger.debug("lease expired; proposing its revocation", metadata: ["lease": "\(id)"])
        let command = KVCommand(.leaseRevoke(id: id, expired: true))
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        // `mayForward: false`: only a leader revokes for expiry; a node that lost leadership
        // meanwhile is refused, and the new leader's clock decides.
        propose(PendingWrite(command: command.encoded(), deadline: deadline, mayForward: false) { [self] result in
            Task(executorPreference: executor) { await self.expiryFinished(id, result) }
        })
    }

    private func expiryFinished(_ id: UInt64, _ result: Result<KVResult, RuntimeError>) {
        switch result {
        case .success, .failure(.notFound):
            leaseClock.forget(id)
        case .failure(let error):
            logger.debug("a lease's revocation did not apply", metadata: ["lease": "\(id)", "error": "\(error)"])
            leaseClock.revocationFailed(id)
        }
    }

    /// Time left for each of `ids` on this node's clock (nil where this node has no timer:
    /// a lease whose grant applied a moment ago, before the runtime heard of it). Only the
    /// leader acts on these times; another node's answer is its estimate.
    public func leaseRemaining(_ ids: [UInt64]) -> [Duration?] {
        let now = ContinuousClock.now
        return ids.map { leaseClock.remaining($0, now: now) }
    }
}

extension RuntimeConfig {
    /// The shortest TTL a client may ask for: twice the election timeout, in whole seconds
    /// rounded up. A shorter lease could run out during an election alone, before a holder
    /// that keeps it alive can reach the new leader.
    public var minimumLeaseSeconds: Int64 {
        let milliseconds = Int64(electionTicks) * Int64(tickMilliseconds) * 2
        return max(1, (milliseconds + 999) / 1000)
    }
}
