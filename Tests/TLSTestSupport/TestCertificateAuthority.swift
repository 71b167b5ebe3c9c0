import Crypto
import Foundation
import X509

/// A certificate authority made in memory for one test: P-256 keys, certificates valid from
/// an hour ago for a day. Tests that need a second, untrusted CA simply make another.
public struct TestCertificateAuthority: Sendable {
    private let key: P256.Signing.PrivateKey
    private let name: DistinguishedName
    public let certificate: Certificate

    public init(name commonName: String = "swift-raft-kv test CA") throws {
        key = P256.Signing.PrivateKey()
        name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// A certificate for both ends of a TLS connection, signed by this CA: subject CN
    /// `commonName` and a SAN DNS name for each of `dnsNames`. Returns PEM text.
    public func issue(commonName: String, dnsNames: [String] = []) throws -> (certificatePEM: String, keyPEM: String) {
        let leafKey = P256.Signing.PrivateKey()
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400),
            issuer: name, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !dnsNames.isEmpty { SubjectAlternativeNames(dnsNames.map { .dnsName($0) }) }
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return (try leaf.serializeAsPEM().pemString, leafKey.pemRepresentation)
    }

    /// Writes a node's certificate, key (mode 0600) and this CA's certificate into
    /// `directory` as `<file>.pem`, `<file>-key.pem` and `ca.pem`.
    public func writeFiles(commonName: String, dnsNames: [String] = [], file: String? = nil,
                           into directory: URL) throws -> PeerTLSFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (certificatePEM, keyPEM) = try issue(commonName: commonName, dnsNames: dnsNames)
        let base = file ?? commonName
        let files = PeerTLSFiles(
            certificate: directory.appendingPathComponent("\(base).pem").path,
            key: directory.appendingPathComponent("\(base)-key.pem").path,
            trustedCA: directory.appendingPathComponent("ca.pem").path)
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: files.certificate))
        try Data(keyPEM.utf8).write(to: URL(fileURLWithPath: files.key))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: files.key)
        try Data(try self.certificatePEM.utf8).write(to: URL(fileURLWithPath: files.trustedCA))
        return files
    }

}

/// Where one node's peer TLS files are.
public struct PeerTLSFiles: Sendable {
    public var certificate: String
    public var key: String
    public var trustedCA: String

    public init(certificate: String, key: String, trustedCA: String) {
        self.certificate = certificate
        self.key = key
        self.trustedCA = trustedCA
    }

    /// kv-node's flags for these files.
    public var kvNodeArguments: [String] {
        ["--peer-cert-file", certificate, "--peer-key-file", key, "--peer-trusted-ca-file", trustedCA]
    }
}
