/// A mutual exclusion lock on leases, transactions and watches, as etcd's concurrency package
/// builds it: each contender creates `NAME/<lease id>` under a lease of its own and holds the
/// lock once every key created before its own is gone. A holder that dies stops renewing its
/// lease, so its key, and its hold, end within the TTL.
extension KVClient {
    /// Waits for the lock `name`, runs `body` while holding it (the lease is kept alive
    /// meanwhile), and releases it after, also when `body` throws or the task is cancelled.
    public func withLock<T: Sendable>(_ name: String, ttlSeconds: UInt64 = 10,
                                      _ body: @escaping @Sendable (Ownership) async throws -> T) async throws -> T {
        try await withLeasedKey(name: name, value: "", ttlSeconds: ttlSeconds, body)
    }

    /// Grants a lease, queues `NAME/<lease>` with `value`, runs `body` once it is first in line,
    /// and revokes the lease after (which deletes the key).
    func withLeasedKey<T: Sendable>(name: String, value: String, ttlSeconds: UInt64,
                                    _ body: @escaping @Sendable (Ownership) async throws -> T) async throws -> T {
        guard !name.isEmpty else { throw KVClientError.invalidArgument("a lock or election needs a name") }
        let lease = try await grantLease(ttlSeconds: ttlSeconds).id
        do {
            let value = try await withLeaseKeepAlive(lease) {
                let ownership = try await self.enqueueAndWait(name: name, value: value, lease: lease)
                return try await body(ownership)
            }
            try await revokeLease(lease)
            return value
        } catch {
            await releaseUncancelled(lease)
            throw error
        }
    }

    /// Revokes the lease from a task of its own: the caller may have been cancelled (Ctrl-C),
    /// which would cancel the revocation too, and a lock left behind would be held until its
    /// TTL ran out. Errors are dropped: the lease then expires by itself.
    func releaseUncancelled(_ lease: UInt64) async {
        let release = Task { _ = try? await self.revokeLease(lease) }
        await release.value
    }
}
