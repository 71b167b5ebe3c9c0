import Crypto
import FoundationEssentials
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Who an `Authorization` header says the client is, as far as the rule
/// (`ClientAccess`) needs to know.
enum ClientCredentials: Sendable {
    /// No `Authorization` header.
    case anonymous
    /// A header that names nobody: malformed, an unknown user or token, a wrong password.
    case invalid
    case identity(ClientIdentity)
}

/// Turns `Authorization` headers into identities against the current `--auth-file`, and
/// swaps that file on a reload (SIGHUP).
///
/// Why a cache: bcrypt is made to be slow (about 50 ms to 250 ms of CPU per check at the
/// usual costs 10 to 12), and HTTP Basic sends the password with every request. So a Basic
/// header that verified once is remembered, keyed by the SHA-256 of the header (never the
/// password itself), until the next reload; a cached header costs one SHA-256 and a lookup,
/// which keeps the fast path fast. Bearer tokens are stored in the file as SHA-256 digests
/// and checked by hashing the token: no bcrypt, no cache needed.
///
/// A bcrypt check never runs on an event loop or Swift's cooperative pool: `verify` runs it
/// on NIO's blocking thread pool, and the fast path hands a request whose Basic header is
/// not cached to the routes, which call `verify`.
public final class ClientAuthenticator: Sendable {
    private struct State {
        var file: AuthFile
        /// SHA-256 of a verified Basic header → the user's identity when it verified.
        var verified: [[UInt8]: ClientIdentity] = [:]
        /// Bumped by every reload, so a check that started before it cannot cache an
        /// identity the new file no longer grants.
        var generation = 0
    }

    /// Verified headers remembered at most; the cache starts over when it is full.
    static let cacheLimit = 4_096
    /// A well-formed hash to check unknown users against, so that "no such user" takes as
    /// long as "wrong password" and the timing does not tell which names exist.
    private let decoyHash: String

    /// The file `reload()` reads again.
    public let path: String
    private let state: Mutex<State>

    init(file: AuthFile, path: String) {
        self.path = path
        self.state = Mutex(State(file: file))
        // Cost 10, what `htpasswd -B` uses by default; made once, at start-up.
        self.decoyHash = Bcrypt.hash(UUID().uuidString, cost: 10)
    }

    /// Reads `path`; a missing or invalid file is an error naming it (kv-node exits with 2).
    public static func load(path: String) throws(AuthFileError) -> ClientAuthenticator {
        ClientAuthenticator(file: try AuthFile.load(path: path), path: path)
    }

    /// Reads the file again and, only if it is valid, puts it in force and forgets every
    /// verified header. A bad file leaves the old one in force and throws.
    public func reload() throws(AuthFileError) {
        let file = try AuthFile.load(path: path)
        state.withLock { state in
            state.file = file
            state.verified = [:]
            state.generation &+= 1
        }
    }

    /// What a header needs before the rule can be applied.
    enum Lookup: Sendable {
        /// Known without any slow work.
        case decided(ClientCredentials)
        /// A Basic header not seen before: `verify` must run bcrypt.
        case needsVerification(BasicCheck)
    }

    struct BasicCheck: Sendable {
        var cacheKey: [UInt8]
        var password: String
        var hash: String
        /// nil for an unknown user: the check runs against the decoy and fails.
        var identity: ClientIdentity?
        var generation: Int
    }

    /// Never slow: decides from the header alone, the token table or the cache.
    func lookup(authorization: String?) -> Lookup {
        guard let authorization else { return .decided(.anonymous) }
        let bytes = authorization.utf8
        if Self.hasScheme(bytes, "bearer ") {
            let token = authorization.utf8.dropFirst(7)
            guard !token.isEmpty else { return .decided(.invalid) }
            let digest = Array(SHA256.hash(data: Array(token)))
            return .decided(state.withLock { $0.file.tokens[digest] }.map { .identity($0) } ?? .invalid)
        }
        guard Self.hasScheme(bytes, "basic ") else { return .decided(.invalid) }
        let cacheKey = Array(SHA256.hash(data: Array(bytes)))
        return state.withLock { state -> Lookup in
            if let identity = state.verified[cacheKey] { return .decided(.identity(identity)) }
            guard let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingWhitespace()),
                  let text = String(data: decoded, encoding: .utf8),
                  let colon = text.firstIndex(of: ":") else { return .decided(.invalid) }
            let name = String(text[..<colon])
            let password = String(text[text.index(after: colon)...])
            let user = state.file.users[name]
            return .needsVerification(BasicCheck(cacheKey: cacheKey, password: password,
                                                 hash: user?.bcryptHash ?? decoyHash,
                                                 identity: user?.identity, generation: state.generation))
        }
    }

    /// The credentials of `authorization`, running bcrypt (off the event loops and the
    /// cooperative pool) when the header is not cached yet.
    func credentials(authorization: String?) async -> ClientCredentials {
        switch lookup(authorization: authorization) {
        case .decided(let credentials): return credentials
        case .needsVerification(let check): return await verify(check)
        }
    }

    func verify(_ check: BasicCheck) async -> ClientCredentials {
        let password = check.password, hash = check.hash
        let matches = (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
        guard matches, let identity = check.identity else { return .invalid }
        state.withLock { state in
            guard state.generation == check.generation else { return }
            if state.verified.count >= Self.cacheLimit { state.verified = [:] }
            state.verified[check.cacheKey] = identity
        }
        return .identity(identity)
    }

    /// Whether `header` starts with `scheme` (lowercase, with its space), in any case.
    private static func hasScheme(_ header: String.UTF8View, _ scheme: StaticString) -> Bool {
        scheme.withUTF8Buffer { CrossSiteRule.equalsIgnoringCase(header.prefix($0.count), $0) }
    }
}
