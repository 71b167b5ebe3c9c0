import FoundationEssentials
import NIOSSL
import Transport

/// HTTPS for the client API (`--cert-file`, `--key-file`), and optionally client
/// certificates required to chain to `--trusted-ca-file` (`--client-cert-auth`).
/// Docs/SECURITY.md, "Clients".
public struct ClientTLS: Sendable {
    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey
    /// Set with `--client-cert-auth`: a client without a certificate from these CAs fails
    /// the TLS handshake.
    public var clientCertificateRoots: [NIOSSLCertificate]?

    /// Reads the PEM files and builds the context once, so a bad file or a key that does
    /// not fit the certificate stops the node at start-up, naming the file.
    public static func load(certificateFile: String, keyFile: String,
                            clientCAFile: String?) throws(PeerTLSError) -> ClientTLS {
        let chain = try PEMFiles.certificates(in: certificateFile)
        let key = try PEMFiles.privateKey(in: keyFile)
        let roots = try clientCAFile.map { file throws(PeerTLSError) in try PEMFiles.certificates(in: file) }
        let tls = ClientTLS(certificateChain: chain, privateKey: key, clientCertificateRoots: roots)
        do {
            _ = try tls.makeContext()
        } catch {
            throw .invalid(file: keyFile, reason: "the key does not fit the certificate in \(certificateFile) (\(error))")
        }
        return tls
    }

    /// HTTP/1.1 only (ALPN), TLS 1.2 or newer: what curl and every HTTP library speak.
    /// Client certificates are checked against the roots only, without a host name:
    /// which client it is matters to the auth file, not to TLS.
    public func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if let roots = clientCertificateRoots {
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
