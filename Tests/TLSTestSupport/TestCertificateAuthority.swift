import Foundation
import PeerCertificates
import X509

/// A certificate authority made in memory for one test: P-256 keys, certificates valid from
/// an hour ago for a day. Tests that need a second, untrusted CA simply make another.
/// The certificates come from `CertificateAuthority`, the code the launcher makes its own with.
public struct TestCertificateAuthority: Sendable {
    private let authority: CertificateAuthority
    public var certificate: Certificate { authority.certificate }

    public init(name commonName: String = "swift-raft-kv test CA") throws {
        let now = Date()
        authority = try CertificateAuthority(
            commonName: commonName, notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400))
    }

    public var certificatePEM: String {
        get throws { try authority.certificatePEM }
    }

    /// A certificate for both ends of a TLS connection, signed by this CA: subject CN
    /// `commonName`, a SAN DNS name for each of `dnsNames` and a SAN IP address for each of
    /// `ipAddresses` (4 or 16 bytes). Returns PEM text.
    public func issue(commonName: String, dnsNames: [String] = [], ipAddresses: [[UInt8]] = []) throws -> (certificatePEM: String, keyPEM: String) {
        let now = Date()
        let issued = try authority.issue(
            commonName: commonName, dnsNames: dnsNames, ipAddresses: ipAddresses,
            notBefore: now.addingTimeInterval(-3600), notAfter: now.addingTimeInterval(86_400))
        return (try issued.certificatePEM, issued.keyPEM)
    }

    /// Writes a node's certificate, key (mode 0600) and this CA's certificate into
    /// `directory` as `<file>.pem`, `<file>-key.pem` and `ca.pem`.
    public func writeFiles(commonName: String, dnsNames: [String] = [], ipAddresses: [[UInt8]] = [], file: String? = nil,
                           into directory: URL) throws -> PeerTLSFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (certificatePEM, keyPEM) = try issue(commonName: commonName, dnsNames: dnsNames, ipAddresses: ipAddresses)
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
