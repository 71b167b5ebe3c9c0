/// Keeping a lease alive, with a clock of the client's own: the lease is taken as lost once
/// its TTL has passed since the last renewal the client knows of, whatever the network does.
extension KVClient {
    /// Keeps the lease alive, a keep-alive every third of its TTL, until the calling task is
    /// cancelled (then throws `CancellationError`) or the lease is gone: ``KVClientError/notFound(_:)``
    /// when the cluster says so, ``KVClientError/leaseLost(id:reason:)`` when no renewal
    /// succeeded within the TTL. `renewed` sees every answer.
    ///
    /// A third of the TTL leaves two more tries, each with the client's own failover, before
    /// the lease could run out. Run it beside the work the lease guards, or use
    /// ``withLeaseKeepAlive(_:_:)``.
    public func keepLeaseAlive(_ id: UInt64, renewed: @Sendable (LeaseInfo) -> Void = { _ in }) async throws -> Never {
        try await keepLeaseAlive(id, expiresAt: nil, renewed: renewed)
    }

    /// Runs `body` while the lease is kept alive in a child task; the keep-alives stop when
    /// `body` returns. If the lease is lost meanwhile, `body` is cancelled and the loss is thrown.
    public func withLeaseKeepAlive<T: Sendable>(_ id: UInt64, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withLeaseKeepAlive(id, expiresAt: nil, body)
    }

    /// As the public one, knowing already when the lease runs out (`expiresAt`, from its grant).
    func withLeaseKeepAlive<T: Sendable>(_ id: UInt64, expiresAt: ContinuousClock.Instant?,
                                         _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await self.keepLeaseAlive(id, expiresAt: expiresAt) }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while true {
                // The keep-alive child never returns: it only throws. So the first value is body's.
                guard let first = try await group.next() else {
                    throw KVClientError.invalidArgument("the lease keep-alive ended without a result")
                }
                if let value = first { return value }
            }
        }
    }

    /// The keep-alive loop. `expiresAt` is when the lease runs out if never renewed (nil when
    /// unknown: the first renewal then gets the whole retry budget). Each renewal may take only
    /// the time the lease has left; the renewal's own send time plus the TTL it reports is the
    /// next expiry (the node restarted its clock after that, so the client's guess errs early).
    func keepLeaseAlive(_ id: UInt64, expiresAt: ContinuousClock.Instant?,
                        renewed: @Sendable (LeaseInfo) -> Void = { _ in }) async throws -> Never {
        let clock = ContinuousClock()
        var expiry = expiresAt
        while true {
            let sentAt = clock.now
            let info = try await renewBefore(expiry, id)
            renewed(info)
            let ttl = Self.leaseDuration(seconds: info.ttlSeconds)
            expiry = sentAt + ttl
            try await Task.sleep(for: Swift.max(ttl / 3, .milliseconds(100)))
        }
    }

    /// One renewal that must succeed before `expiry`: failures that say nothing about the lease
    /// (no endpoint answered, no leader) are tried again until then, and the lease is lost when
    /// the time is up, even if a call is still waiting for its answer.
    private func renewBefore(_ expiry: ContinuousClock.Instant?, _ id: UInt64) async throws -> LeaseInfo {
        guard let expiry else { return try await keepAliveOnce(id) }
        let clock = ContinuousClock()
        while true {
            let left = expiry - clock.now
            guard left > .zero else { throw KVClientError.leaseLost(id: id, reason: "not renewed within its TTL") }
            do {
                return try await withDeadline(left) { try await self.renewLease(id, retryBudget: left) }
            } catch is DeadlinePassed {
                throw KVClientError.leaseLost(id: id, reason: "not renewed within its TTL")
            } catch KVClientError.unreachable, KVClientError.unavailable, KVClientError.answerLost {
                logger.debug("lease \(id): a renewal failed; trying again while the lease lasts")
                try await Task.sleep(for: Swift.min(.milliseconds(200), left))
            }
        }
    }

    /// A TTL from the server as a `Duration`, clamped to the API's 1 second to one year, so no
    /// answer can overflow the arithmetic.
    static func leaseDuration(seconds: UInt64) -> Duration {
        .seconds(Swift.min(Swift.max(seconds, 1), 31_536_000))
    }
}
