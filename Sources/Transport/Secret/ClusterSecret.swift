import Crypto
import FoundationEssentials
import NIOCore
import RaftCore

/// A secret every node of a cluster shares (kv-node's `--cluster-secret-file`): without peer
/// TLS it is what a handshake proves, by challenge and response, so that knowing the cluster id
/// is no longer enough to speak as a member (Docs/TRANSPORT.md, "Cluster secret"). The secret
/// itself never crosses the wire; each side sends an HMAC over fresh nonces from both.
public struct ClusterSecret: Sendable {
    /// Below this a secret can be guessed offline from one recorded handshake.
    public static let minimumLength = 16
    /// The length of each side's nonce: enough that one never repeats.
    static let nonceLength = 32

    private let key: SymmetricKey

    /// `bytes` as the secret; fails when it is shorter than `minimumLength`.
    public init(_ bytes: some Collection<UInt8>) throws(ClusterSecretError) {
        guard bytes.count >= Self.minimumLength else { throw .tooShort(file: nil, length: bytes.count) }
        key = SymmetricKey(data: Array(bytes))
    }

    /// Reads the secret file. Trailing newlines and spaces are not part of the secret, so a
    /// file written by `echo` or an editor holds the same secret as one written by `printf`.
    public static func load(path: String) throws(ClusterSecretError) -> ClusterSecret {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(file: path) }
        var bytes = Array(data)
        while let last = bytes.last, [0x0A, 0x0D, 0x20, 0x09].contains(last) { bytes.removeLast() }
        do {
            return try ClusterSecret(bytes)
        } catch {
            throw .tooShort(file: path, length: bytes.count)
        }
    }

    /// Who computes a proof. Part of what is signed, so an acceptor's proof can never be
    /// reflected back as a dialler's, nor the other way round.
    enum Role: String {
        case dialler
        case acceptor
    }

    /// HMAC-SHA256 over everything that makes this handshake this one: the protocol label,
    /// the role, the cluster id, both node ids and both nonces, each length-prefixed so no two
    /// different handshakes sign the same bytes.
    func proof(_ role: Role, clusterID: String, dialler: NodeID, acceptor: NodeID,
               acceptorNonce: [UInt8], diallerNonce: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(
            for: Self.transcript(role, clusterID: clusterID, dialler: dialler, acceptor: acceptor,
                                 acceptorNonce: acceptorNonce, diallerNonce: diallerNonce),
            using: key))
    }

    /// Whether `code` is the proof `role` owes for this handshake; compared in constant time.
    func verify(_ code: [UInt8], _ role: Role, clusterID: String, dialler: NodeID, acceptor: NodeID,
                acceptorNonce: [UInt8], diallerNonce: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            code,
            authenticating: Self.transcript(role, clusterID: clusterID, dialler: dialler, acceptor: acceptor,
                                            acceptorNonce: acceptorNonce, diallerNonce: diallerNonce),
            using: key)
    }

    private static func transcript(_ role: Role, clusterID: String, dialler: NodeID, acceptor: NodeID,
                                   acceptorNonce: [UInt8], diallerNonce: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeWire("kv-peer-v1")
        buffer.writeWire(role.rawValue)
        buffer.writeWire(clusterID)
        buffer.writeWire(dialler)
        buffer.writeWire(acceptor)
        buffer.writeWire(acceptorNonce)
        buffer.writeWire(diallerNonce)
        return Array(buffer.readableBytesView)
    }

    /// A fresh nonce from the system's cryptographic random source.
    static func nonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<nonceLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

/// Why the secret file cannot be used; each names the file.
public enum ClusterSecretError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String)
    case tooShort(file: String?, length: Int)

    public var description: String {
        switch self {
        case .unreadable(let file): "cannot read \(file)"
        case .tooShort(let file, let length):
            "\(file.map { "\($0): " } ?? "")the cluster secret is \(length) bytes; it must be at least \(ClusterSecret.minimumLength) (e.g. openssl rand -hex 32)"
        }
    }
}
