/// Who may use leases and compaction (Docs/SECURITY.md, "Clients"; Docs/API.md, "Leases").
/// `ClientAuthMiddleware` only makes sure there is an identity for `/lease` and `/compact`;
/// the routes ask these, since a revocation's keys are known only from the state.
extension ClientAccess {
    /// Granting or keeping a lease alive changes no key by itself (attaching a key is a PUT,
    /// checked as one), but it is a write to the cluster: an identity with no write role
    /// anywhere, a read-only client, may not make the store hold leases. nil: allowed.
    static func leaseRefusal(_ identity: ClientIdentity?) -> APIFailure? {
        guard let identity else { return nil }
        if identity.isAdmin || identity.grants.contains(where: { $0.role == .write && !$0.prefixes.isEmpty }) { return nil }
        return APIFailure(403, "\(identity.name) may not use leases: it needs the write role on some prefix, or admin")
    }

    /// Revoking deletes every key attached to the lease, so the caller must be allowed to
    /// write each of them (checked against the keys attached when the request arrives).
    static func revokeRefusal(_ identity: ClientIdentity, keys: [String]) -> APIFailure? {
        if let failure = leaseRefusal(identity) { return failure }
        for key in keys where !identity.may(.write, key: key) {
            return APIFailure(403, "\(identity.name) may not revoke this lease: it may not write its key \(key)")
        }
        return nil
    }

    /// `POST /compact` forgets history every watcher and every `?revision=` read depends on:
    /// an operator's call.
    static func compactRefusal(_ identity: ClientIdentity?) -> APIFailure? {
        guard let identity, !identity.isAdmin else { return nil }
        return APIFailure(403, "\(identity.name) lacks the admin role")
    }
}
