import ClusterAPI

/// Leases (Docs/API.md, "Leases"): grant, renew, inspect, revoke.
extension KVClient {
    /// Grants a lease of `ttlSeconds` (from the cluster's minimum, twice its election timeout,
    /// to one year). Not retried once sent: a second grant would make a second lease.
    public func grantLease(ttlSeconds: UInt64) async throws -> LeaseGrant {
        try await call(.unrepeatable(.POST, "/lease", body: try APIRequest.json(["ttl_seconds": ttlSeconds])), as: LeaseGrant.self)
    }

    /// Restarts the lease's clock at its full TTL, once.
    ///
    /// - Throws: ``KVClientError/notFound(_:)`` when the lease expired or was revoked.
    @discardableResult
    public func keepAliveOnce(_ id: UInt64) async throws -> LeaseInfo {
        try await renewLease(id, retryBudget: nil)
    }

    /// One keep-alive, failing over for at most `retryBudget` (nil: the configured budget).
    /// Retried like an idempotent write: a renewal that arrives twice restarts the same clock
    /// twice, which is what one renewal does.
    func renewLease(_ id: UInt64, retryBudget: Duration?) async throws -> LeaseInfo {
        var request = APIRequest(.POST, "/lease/\(id)/keepalive", retry: .safe)
        request.retryBudget = retryBudget
        return try await call(request, as: LeaseInfo.self)
    }

    /// The lease's TTL, the seconds it has left, and its keys.
    public func leaseTimeToLive(_ id: UInt64, consistency: ReadConsistency? = nil) async throws -> LeaseInfo {
        let query = PercentEncoding.query([("consistency", consistencyParameter(consistency))])
        return try await call(.read("/lease/\(id)\(query)"), as: LeaseInfo.self)
    }

    /// Every lease, by id.
    public func leases() async throws -> [LeaseInfo] {
        try await call(.read("/lease"), as: LeaseList.self).leases
    }

    /// Revokes the lease and deletes its keys at one revision. Not retried once sent: a second
    /// revocation of a lease the first one removed would report it as not found.
    @discardableResult
    public func revokeLease(_ id: UInt64) async throws -> LeaseRevocation {
        try await call(.unrepeatable(.DELETE, "/lease/\(id)"), as: LeaseRevocation.self)
    }
}
