import HTTPTypes

/// What a request asks to do, as far as permissions go.
enum ClientAction: Equatable, Sendable {
    /// `/health`, `/metrics`, `/cluster/status`: open to anyone who reaches the port
    /// (Docs/SECURITY.md says why).
    case open
    /// Anything else that touches no key: the caller must be someone, with any role.
    case authenticated
    case read(key: String)
    case write(key: String)
    /// `GET /kv?prefix=`: the prefix must lie inside a read prefix.
    case list(prefix: String)
    /// Membership changes and any later admin call.
    case admin
}

/// The one permission rule of the client API (Docs/SECURITY.md, "Clients"). Both request
/// paths (`KVFastPathHandler` and the routes through `ClientAuthMiddleware`) ask it, so a
/// request is allowed or refused the same way whichever path serves it.
enum ClientAccess {
    /// 401 for missing or wrong credentials, 403 for an identity without the permission,
    /// nil when the request may be served.
    static func refusal(_ credentials: ClientCredentials, for action: ClientAction) -> APIFailure? {
        if action == .open { return nil }
        let identity: ClientIdentity
        switch credentials {
        case .anonymous: return APIFailure(401, "authentication required: HTTP Basic or Authorization: Bearer <token>")
        case .invalid: return APIFailure(401, "the credentials were not accepted")
        case .identity(let who): identity = who
        }
        let allowed = switch action {
        case .open, .authenticated: true
        case .read(let key): identity.may(.read, key: key)
        case .write(let key): identity.may(.write, key: key)
        case .list(let prefix): identity.mayList(prefix: prefix)
        case .admin: identity.isAdmin
        }
        guard !allowed else { return nil }
        let reason = switch action {
        case .read(let key): "\(identity.name) may not read \(key)"
        case .write(let key): "\(identity.name) may not write \(key)"
        case .list(let prefix): "\(identity.name) may not list the prefix \"\(prefix)\": it must lie inside one of its read prefixes"
        default: "\(identity.name) lacks the admin role"
        }
        return APIFailure(403, reason)
    }

    /// `/kv/{key}`: reading or writing that key; a path that names no valid key needs only
    /// an identity (the route then answers 400).
    static func keyAction(path: Substring, write: Bool) -> ClientAction {
        keyAction(key: KVOperations.key(fromPath: path), write: write)
    }

    /// The same, for a caller that has decoded the key already.
    static func keyAction(key: Result<String, APIFailure>, write: Bool) -> ClientAction {
        guard case .success(let key) = key else { return .authenticated }
        return write ? .write(key: key) : .read(key: key)
    }

    /// The action of any request the routes serve.
    ///
    /// The route is told by the path's non-empty segments, as the router finds it: it skips
    /// empty segments, so `//kv`, `/kv//`, `/watch/` and `//cluster/join` reach the same
    /// handlers as `/kv`, `/watch` and `/cluster/join`, and must be judged as those, or a
    /// doubled or trailing slash would be a way past the rule.
    static func action(method: HTTPRequest.Method, path: Substring, listPrefix: @autoclosure () -> String?,
                       watchKey: @autoclosure () -> String? = nil) -> ClientAction {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let first = segments.first
        let second = segments.dropFirst().first
        let isRead = method == .get || method == .head
        // `GET /watch`: reading the key, or listing the prefix, it follows; asking for both or
        // neither needs only an identity (the route answers 400).
        if first == "watch" && second == nil && isRead {
            switch (watchKey(), listPrefix()) {
            case (.some(let key), nil): return .read(key: key)
            case (nil, .some(let prefix)): return .list(prefix: prefix)
            default: return .authenticated
            }
        }
        if first == "kv" && second == nil {
            if isRead { return .list(prefix: listPrefix() ?? "") }
            // `DELETE /kv?prefix=P` deletes every key under P: writing P is writing all of them.
            if method == .delete, let prefix = listPrefix(), !prefix.isEmpty { return .write(key: prefix) }
            return .authenticated
        }
        if first == "kv" {
            // The key route reads its key from what follows `/kv/`; any other spelling (`//kv/x`)
            // names no key there and is answered 400.
            guard path.hasPrefix("/kv/") else { return .authenticated }
            switch method {
            case .get, .head: return keyAction(path: path, write: false)
            case .put, .delete: return keyAction(path: path, write: true)
            default: return .authenticated
            }
        }
        if segments.count == 1 {
            // A backup or an import is every key at once; an export is a listing.
            if first == "snapshot" || first == "import" { return .admin }
            if first == "export" && isRead { return .list(prefix: listPrefix() ?? "") }
        }
        let open = segments.count == 1 ? (first == "health" || first == "metrics")
                                       : segments.count == 2 && first == "cluster" && second == "status"
        if open && isRead { return .open }
        if first == "cluster" { return .admin }
        return .authenticated
    }
}

/// The identity a route handler serves, set by `ClientAuthMiddleware` for the handler's
/// task, so writes can carry it to the leader without every handler taking a parameter.
enum ClientContext {
    @TaskLocal static var identity: ClientIdentity?
}
