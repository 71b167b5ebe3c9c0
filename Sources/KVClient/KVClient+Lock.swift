/// A mutual exclusion lock on leases, transactions and watches, as etcd's concurrency package
/// builds it: each contender creates `NAME/<lease id>` under a lease of its own and holds the
/// lock once every key created before its own is gone. A holder that dies stops renewing its
/// lease, so its key, and its hold, end within the TTL.
extension KVClient {
    /// Waits for the lock `name`, runs `body` while holding it (the lease is kept alive
    /// meanwhile), and releases it after, also when `body` throws or the task is cancelled.
    /// If the lease cannot be renewed within its TTL, `body` is cancelled and
    /// ``KVClientError/leaseLost(id:reason:)`` is thrown: the lock may be someone else's by then.
    public func withLock<T: Sendable>(_ name: String, ttlSeconds: UInt64 = 10,
                                      _ body: @escaping @Sendable (Ownership) async throws -> T) async throws -> T {
        try await withLeasedKey(name: name, value: "", ttlSeconds: ttlSeconds, body)
    }

    /// Grants a lease, queues `NAME/<lease>` with `value`, runs `body` once it is first in line,
    /// and revokes the lease after (which deletes the key).
    func withLeasedKey<T: Sendable>(name: String, value: String, ttlSeconds: UInt64,
                                    _ body: @escaping @Sendable (Ownership) async throws -> T) async throws -> T {
        guard !name.isEmpty else { throw KVClientError.invalidArgument("a lock or election needs a name") }
        let requested = ContinuousClock.now
        let grant = try await grantLease(ttlSeconds: ttlSeconds)
        // The node started the lease's clock after the request left, so this errs early.
        let expiry = requested + Self.leaseDuration(seconds: grant.ttlSeconds)
        let result: T
        do {
            result = try await withLeaseKeepAlive(grant.id, expiresAt: expiry) {
                let ownership = try await self.enqueueAndWait(name: name, value: value, lease: grant.id)
                return try await body(ownership)
            }
        } catch {
            await releaseUncancelled(grant.id)
            throw error
        }
        // `body` succeeded: its value is the caller's whatever the release does.
        await releaseUncancelled(grant.id)
        return result
    }

    /// Revokes the lease from a task of its own: the caller may have been cancelled (Ctrl-C),
    /// which would cancel the revocation too, and a lock left behind would be held until its
    /// TTL ran out. A failure is only logged: the lease then expires by itself.
    func releaseUncancelled(_ lease: UInt64) async {
        let release = Task { try await self.revokeLease(lease) }
        if case .failure(let error) = await release.result {
            logger.notice("lease \(lease) was not revoked (it expires by itself): \(error)")
        }
    }
}
