import FoundationEssentials

/// The users and tokens of `--auth-file`, parsed and checked (format: Docs/SECURITY.md,
/// "The auth file"). A file with any mistake is refused whole: at start-up that stops the
/// node, at a reload the previous file stays in force.
public struct AuthFile: Sendable {
    struct User: Sendable {
        var identity: ClientIdentity
        /// `$2a$`, `$2b$` or `$2y$` bcrypt, as `htpasswd -nbB` or python's bcrypt write it.
        var bcryptHash: String
    }

    var users: [String: User]
    /// Keyed by the SHA-256 of the token: the file never holds a token itself, and a lookup
    /// by digest reveals nothing about a token through its timing.
    var tokens: [[UInt8]: ClientIdentity]

    public static func load(path: String) throws(AuthFileError) -> AuthFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(file: path) }
        do {
            return try parse(data)
        } catch {
            throw .invalid(file: path, reason: error.reason)
        }
    }

    static func parse(_ data: Data) throws(AuthFileError.Reason) -> AuthFile {
        guard let root = JSONDocument.object(data) else {
            throw AuthFileError.Reason("not a JSON object")
        }
        if let unknown = Set(root.keys).subtracting(["users", "tokens"]).sorted().first {
            throw AuthFileError.Reason("unknown field \"\(unknown)\" (expected \"users\" and \"tokens\")")
        }
        var file = AuthFile(users: [:], tokens: [:])
        var names: Set<String> = []
        for (index, entry) in try list(root["users"], "users").enumerated() {
            let place = "users[\(index)]"
            let name = try field(entry, "name", place)
            guard !name.contains(":") else { throw AuthFileError.Reason("\(place): a user name cannot contain \":\" (HTTP Basic splits there)") }
            let hash = try field(entry, "password_bcrypt", place)
            guard Self.isBcrypt(hash) else {
                throw AuthFileError.Reason("\(place): password_bcrypt is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)")
            }
            guard names.insert(name).inserted else { throw AuthFileError.Reason("\(place): the name \"\(name)\" is used twice") }
            let identity = ClientIdentity(name: name, grants: try grants(entry["roles"], place))
            file.users[name] = User(identity: identity, bcryptHash: Self.verifiable(hash))
        }
        for (index, entry) in try list(root["tokens"], "tokens").enumerated() {
            let place = "tokens[\(index)]"
            let name = try field(entry, "name", place)
            let hex = try field(entry, "token_sha256", place)
            guard let digest = Self.digest(hex: hex) else {
                throw AuthFileError.Reason("\(place): token_sha256 must be 64 hexadecimal digits (sha256sum of the token)")
            }
            guard names.insert(name).inserted else { throw AuthFileError.Reason("\(place): the name \"\(name)\" is used twice") }
            guard file.tokens[digest] == nil else { throw AuthFileError.Reason("\(place): the same token is listed twice") }
            file.tokens[digest] = ClientIdentity(name: name, grants: try grants(entry["roles"], place))
        }
        return file
    }

    private static func list(_ value: Any?, _ name: String) throws(AuthFileError.Reason) -> [[String: Any]] {
        guard let value else { return [] }
        guard let list = value as? [[String: Any]] else { throw AuthFileError.Reason("\"\(name)\" must be a list of objects") }
        return list
    }

    private static func field(_ object: [String: Any], _ name: String, _ place: String) throws(AuthFileError.Reason) -> String {
        guard let text = object[name] as? String, !text.isEmpty else {
            throw AuthFileError.Reason("\(place): \"\(name)\" must be a non-empty string")
        }
        return text
    }

    private static func grants(_ value: Any?, _ place: String) throws(AuthFileError.Reason) -> [ClientIdentity.Grant] {
        guard let list = value as? [[String: Any]], !list.isEmpty else {
            throw AuthFileError.Reason("\(place): \"roles\" must be a non-empty list of {\"role\": ..., \"prefixes\": [...]}")
        }
        var grants: [ClientIdentity.Grant] = []
        for (index, entry) in list.enumerated() {
            let where_ = "\(place).roles[\(index)]"
            guard let name = entry["role"] as? String, let role = ClientIdentity.Role(rawValue: name) else {
                throw AuthFileError.Reason("\(where_): \"role\" must be \"read\", \"write\" or \"admin\"")
            }
            if role == .admin {
                guard entry["prefixes"] == nil else {
                    throw AuthFileError.Reason("\(where_): admin applies to every key; leave out \"prefixes\"")
                }
                grants.append(ClientIdentity.Grant(role: .admin))
                continue
            }
            guard let prefixes = entry["prefixes"] as? [String], !prefixes.isEmpty else {
                throw AuthFileError.Reason("\(where_): \"prefixes\" must be a non-empty list of strings (\"\" is every key)")
            }
            grants.append(ClientIdentity.Grant(role: role, prefixes: prefixes))
        }
        return grants
    }

    /// `$2y$` (what `htpasswd -B` writes) is the same algorithm as `$2b$`, which the bcrypt
    /// implementation checks: only the tag differs.
    static func verifiable(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    static func isBcrypt(_ hash: String) -> Bool {
        hash.utf8.count == 60 && ["$2a$", "$2b$", "$2y$"].contains { hash.hasPrefix($0) }
    }

    static func digest(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why `--auth-file` could not be used; names the file.
public enum AuthFileError: Error, CustomStringConvertible {
    case unreadable(file: String)
    case invalid(file: String, reason: String)

    struct Reason: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    public var description: String {
        switch self {
        case .unreadable(let file): "cannot read \(file)"
        case .invalid(let file, let reason): "\(file): \(reason)"
        }
    }
}
