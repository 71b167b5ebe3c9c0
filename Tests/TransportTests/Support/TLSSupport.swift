import NIOSSL
import RaftCore
import TLSTestSupport
@testable import Transport

/// A certificate from `authority` for `name` (its CN, and a SAN DNS name when `san` is set),
/// with `trusting` (the same CA unless given) as the roots, as a transport's TLS settings.
func peerTLS(_ name: String, san: Bool = false, signedBy authority: TestCertificateAuthority,
             trusting trusted: TestCertificateAuthority? = nil) throws -> PeerTLS {
    let issued = try authority.issue(commonName: san ? "node \(name)" : name, dnsNames: san ? [name] : [])
    return PeerTLS(
        certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(issued.certificatePEM.utf8)),
        privateKey: try NIOSSLPrivateKey(bytes: Array(issued.keyPEM.utf8), format: .pem),
        trustedRoots: try NIOSSLCertificate.fromPEMBytes(Array((trusted ?? authority).certificatePEM.utf8)))
}

/// `testConfiguration` with TLS.
func tlsConfiguration(_ id: NodeID, tls: PeerTLS) -> TransportConfiguration {
    var configuration = testConfiguration(id)
    configuration.tls = tls
    return configuration
}

/// A client-side TLS context for a raw test peer: trusts `authority`, and presents `identity`
/// when given (otherwise no certificate at all).
func rawClientTLS(trusting authority: TestCertificateAuthority, identity: PeerTLS? = nil) throws -> NIOSSLContext {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(authority.certificatePEM.utf8)))
    configuration.certificateVerification = .noHostnameVerification
    if let identity {
        configuration.certificateChain = identity.certificateChain.map { .certificate($0) }
        configuration.privateKey = .privateKey(identity.privateKey)
    }
    return try NIOSSLContext(configuration: configuration)
}
