/// What one authenticated client may do: its name (for logs and forwarded writes) and its
/// grants. Docs/SECURITY.md, "Clients", is the rule in prose.
public struct ClientIdentity: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        case read, write, admin
    }

    /// One role over the keys that start with any of `prefixes` (`""` is every key).
    /// `admin` carries no prefixes: it is everywhere.
    public struct Grant: Sendable, Equatable {
        public var role: Role
        public var prefixes: [String]

        public init(role: Role, prefixes: [String] = []) {
            self.role = role
            self.prefixes = prefixes
        }
    }

    public var name: String
    public var grants: [Grant]

    public init(name: String, grants: [Grant]) {
        self.name = name
        self.grants = grants
    }

    /// `admin` implies read and write on every key: whoever may change the membership can
    /// already add a node of its own and receive the whole log, so a narrower admin would
    /// only pretend. `write` implies nothing about read, nor `read` about write.
    var isAdmin: Bool { grants.contains { $0.role == .admin } }

    func may(_ role: Role, key: String) -> Bool {
        if isAdmin { return true }
        // Bytes, not Characters: `String.hasPrefix` compares grapheme clusters, so "a" would
        // not be a prefix of "a" followed by a combining accent, while the store orders and
        // lists keys by their bytes.
        return grants.contains { $0.role == role && $0.prefixes.contains { key.utf8.starts(with: $0.utf8) } }
    }

    /// A listing of `prefix` may only show keys this identity may read: the prefix asked for
    /// must lie inside one of its read prefixes.
    func mayList(prefix: String) -> Bool { may(.read, key: prefix) }
}
