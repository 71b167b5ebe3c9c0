import Crypto
import FoundationEssentials
import X509

/// A cluster's certificate authority: a P-256 key and a self-signed CA certificate, which
/// issues the certificates nodes present to each other on the Raft port (Docs/SECURITY.md,
/// "Peer traffic"). The launcher keeps one per data directory; the tests make throwaway ones.
public struct CertificateAuthority: Sendable {
    private let key: P256.Signing.PrivateKey
    public let certificate: Certificate

    /// A new CA named `commonName`, valid from `notBefore` to `notAfter`.
    public init(commonName: String, notBefore: Date, notAfter: Date) throws {
        key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    /// The CA kept in PEM files: its certificate and its private key. Fails when either does
    /// not parse, when the key is not the certificate's, or when the certificate is no CA.
    public init(certificatePEM: String, keyPEM: String) throws(CertificateFileError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw .invalid("the CA certificate is not a PEM certificate (\(error))")
        }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw .invalid("the CA key is not a PEM P-256 private key (\(error))")
        }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw .invalid("the CA key does not belong to the CA certificate")
        }
        guard Self.isCA(try? certificate.extensions.basicConstraints) else {
            throw .invalid("the CA certificate is not a certificate authority")
        }
        self.key = key
        self.certificate = certificate
    }

    private static func isCA(_ constraints: BasicConstraints?) -> Bool {
        if case .isCertificateAuthority = constraints { return true }
        return false
    }

    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// The private key in PEM: whoever holds it decides who may be a peer, so the launcher
    /// keeps it 0600 beside the certificates.
    public var keyPEM: String { key.pemRepresentation }

    /// A certificate for both ends of a TLS connection (server and client auth), signed by
    /// this CA: subject CN `commonName`, SAN DNS names `dnsNames` and SAN IP addresses
    /// `ipAddresses` (4 or 16 bytes each), with a fresh P-256 key.
    public func issue(
        commonName: String, dnsNames: [String] = [], ipAddresses: [[UInt8]] = [], notBefore: Date, notAfter: Date
    ) throws -> IssuedCertificate {
        let leafKey = P256.Signing.PrivateKey()
        let names = dnsNames.map { GeneralName.dnsName($0) } + ipAddresses.map { GeneralName.ipAddress(.init(contentBytes: $0[...])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(leafKey.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return IssuedCertificate(certificate: leaf, keyPEM: leafKey.pemRepresentation)
    }

    /// Whether `certificate` carries this CA's signature (and names it as the issuer).
    public func signed(_ certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject
            && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }
}

/// A certificate fresh from `CertificateAuthority.issue` and its private key.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let keyPEM: String

    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    public init(certificate: Certificate, keyPEM: String) {
        self.certificate = certificate
        self.keyPEM = keyPEM
    }

    /// A certificate and key kept in PEM files. Fails when either does not parse or when the
    /// key is not the certificate's, so a half-written pair is noticed and made anew.
    public init(certificatePEM: String, keyPEM: String) throws(CertificateFileError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw .invalid("not a PEM certificate (\(error))")
        }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        } catch {
            throw .invalid("not a PEM P-256 private key (\(error))")
        }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw .invalid("the key does not belong to the certificate")
        }
        self.init(certificate: certificate, keyPEM: keyPEM)
    }
}

/// Why a stored CA or certificate cannot be used.
public enum CertificateFileError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
