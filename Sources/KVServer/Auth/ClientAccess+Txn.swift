import KVStore

extension ClientAccess {
    /// A transaction names its keys in the body, so its check runs in the route once the body
    /// is read (`ClientAuthMiddleware` has only made sure there is an identity): reading for
    /// every compared or read key, writing for every key it puts or deletes and every prefix
    /// it deletes. Both branches count, since the client does not choose which one runs.
    static func refusal(_ identity: ClientIdentity, for txn: TxnRequest) -> APIFailure? {
        for key in txn.compare.map(\.key) where !identity.may(.read, key: key) {
            return APIFailure(403, "\(identity.name) may not read \(key)")
        }
        for operation in txn.success + txn.failure {
            switch operation {
            case .get(let key):
                if !identity.may(.read, key: key) { return APIFailure(403, "\(identity.name) may not read \(key)") }
            case .put(let key, _, _), .delete(let key):
                if !identity.may(.write, key: key) { return APIFailure(403, "\(identity.name) may not write \(key)") }
            case .deletePrefix(let prefix):
                if !identity.may(.write, key: prefix) {
                    return APIFailure(403, "\(identity.name) may not delete the prefix \"\(prefix)\": it must lie inside one of its write prefixes")
                }
            }
        }
        return nil
    }
}
