import FoundationEssentials
import NIOSSL

/// What a node needs for mutual TLS on its Raft port: its own certificate chain and key,
/// presented both when it accepts and when it dials, and the CA certificates a peer's chain
/// must lead to. Who a peer is comes from its certificate (see `CertificateIdentity`), so the
/// same trust roots serve both directions.
public struct PeerTLS: Sendable {
    /// The node's certificate first, then any intermediates.
    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey
    public var trustedRoots: [NIOSSLCertificate]

    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, trustedRoots: [NIOSSLCertificate]) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustedRoots = trustedRoots
    }

    /// Reads the three PEM files and checks that the key belongs to the certificate, so a
    /// misconfigured node stops at start-up with the file named rather than failing every
    /// handshake later.
    public static func load(certificateFile: String, keyFile: String, trustedCAFile: String) throws(PeerTLSError) -> PeerTLS {
        let tls = PeerTLS(certificateChain: try PEMFiles.certificates(in: certificateFile),
                          privateKey: try PEMFiles.privateKey(in: keyFile),
                          trustedRoots: try PEMFiles.certificates(in: trustedCAFile))
        do {
            _ = try tls.makeContexts()
        } catch {
            throw .invalid(file: keyFile, reason: "the key does not fit the certificate in \(certificateFile) (\(error))")
        }
        return tls
    }

    /// The server side requires a client certificate chaining to `trustedRoots`
    /// (`.noHostnameVerification` with client certificates required: BoringSSL fails the
    /// handshake when none is sent). Neither side checks a host name: nodes are named by id,
    /// not by where they listen, and which id a certificate speaks for is checked by the
    /// transport against the handshake (`CertificateIdentity`), where the expected id is known.
    func makeContexts() throws -> (server: NIOSSLContext, client: NIOSSLContext) {
        let chain = certificateChain.map { NIOSSLCertificateSource.certificate($0) }
        var server = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain, privateKey: .privateKey(privateKey), trustRoots: .certificates(trustedRoots))
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = .privateKey(privateKey)
        client.trustRoots = .certificates(trustedRoots)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv13
        return (try NIOSSLContext(configuration: server), try NIOSSLContext(configuration: client))
    }
}

/// Why the peer TLS files could not be used; each names the file at fault.
public enum PeerTLSError: Error, CustomStringConvertible {
    case unreadable(file: String)
    case invalid(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file): "cannot read \(file)"
        case .invalid(let file, let reason): "\(file): \(reason)"
        }
    }
}
