/// Leases (Docs/API.md, "Leases"): grant, renew, inspect, revoke.
extension KVClient {
    /// Grants a lease of `ttlSeconds` (from the cluster's minimum, twice its election timeout,
    /// to one year).
    public func grantLease(ttlSeconds: UInt64) async throws -> LeaseGrant {
        try await call(APIRequest(.POST, "/lease", body: try APIRequest.json(["ttl_seconds": ttlSeconds])), as: LeaseGrant.self)
    }

    /// Restarts the lease's clock at its full TTL, once.
    ///
    /// - Throws: ``KVClientError/notFound(_:)`` when the lease expired or was revoked.
    @discardableResult
    public func keepAliveOnce(_ id: UInt64) async throws -> LeaseInfo {
        try await call(APIRequest(.POST, "/lease/\(id)/keepalive"), as: LeaseInfo.self)
    }

    /// The lease's TTL, the seconds it has left, and its keys.
    public func leaseTimeToLive(_ id: UInt64, consistency: ReadConsistency? = nil) async throws -> LeaseInfo {
        let query = PercentEncoding.query([("consistency", consistencyParameter(consistency))])
        return try await call(APIRequest(.GET, "/lease/\(id)\(query)"), as: LeaseInfo.self)
    }

    /// Every lease, by id.
    public func leases() async throws -> [LeaseInfo] {
        try await call(APIRequest(.GET, "/lease"), as: LeaseList.self).leases
    }

    /// Revokes the lease and deletes its keys at one revision.
    @discardableResult
    public func revokeLease(_ id: UInt64) async throws -> LeaseRevocation {
        try await call(APIRequest(.DELETE, "/lease/\(id)"), as: LeaseRevocation.self)
    }

    /// Keeps the lease alive, a keep-alive every third of its TTL, until the calling task is
    /// cancelled (then throws `CancellationError`) or the lease is gone (then throws
    /// ``KVClientError/notFound(_:)``). `renewed` sees every answer.
    ///
    /// A third of the TTL leaves two more tries, each with the client's own failover, before
    /// the lease could run out. Run it beside the work the lease guards, or use
    /// ``withLeaseKeepAlive(_:_:)``.
    public func keepLeaseAlive(_ id: UInt64, renewed: @Sendable (LeaseInfo) -> Void = { _ in }) async throws -> Never {
        while true {
            let info = try await keepAliveOnce(id)
            renewed(info)
            // The TTL comes from the server: clamp it to the API's one-year maximum before it
            // becomes a Duration, so no answer can overflow the arithmetic.
            let thirds = Duration.seconds(Swift.min(Swift.max(info.ttlSeconds, 1), 31_536_000)) / 3
            try await Task.sleep(for: Swift.max(thirds, .milliseconds(100)))
        }
    }

    /// Runs `body` while the lease is kept alive in a child task; the keep-alives stop when
    /// `body` returns. If the lease is lost meanwhile, `body` is cancelled and the loss is thrown.
    public func withLeaseKeepAlive<T: Sendable>(_ id: UInt64, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await self.keepLeaseAlive(id) }
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
}
