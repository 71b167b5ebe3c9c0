import Foundation
import PeerCertificates
import X509

/// The cluster's certificate authority and one certificate per node, kept in
/// `<data-dir>/tls` (Docs/LAUNCHER.md, "Files"), so that every node the launcher starts
/// speaks mutual TLS on its Raft port from the first run without the operator making any.
///
/// Layout: `ca.pem` and `ca-key.pem`, then `nodes/<id>.pem` and `nodes/<id>-key.pem`. The node
/// files live in a subdirectory so no node id can collide with the CA's. Directories are 0700,
/// keys 0600, and every file is written atomically, so a crash never leaves half a PEM.
public struct ClusterCertificates: Sendable {
    /// The name of the directory under the data directory; no node may be called this.
    public static let directoryName = "tls"
    /// Long enough that a development cluster never meets the end; a CA near it is replaced
    /// (and every node certificate with it) at the next start.
    static let authorityValidity: TimeInterval = 10 * 365 * 86_400
    static let nodeValidity: TimeInterval = 2 * 365 * 86_400
    /// A certificate with less than this left is reissued at start, not left to expire under
    /// a running cluster.
    static let renewalMargin: TimeInterval = 30 * 86_400
    /// Certificates start an hour in the past, so a clock a little behind still accepts them.
    static let backdating: TimeInterval = 3600

    public let directory: URL
    private let authority: CertificateAuthority

    /// The CA's certificate: what `--peer-trusted-ca-file` (and curl's `--cacert`) names.
    public var authorityFile: String { directory.appendingPathComponent("ca.pem").path }
    var authorityKeyFile: String { directory.appendingPathComponent("ca-key.pem").path }
    var nodesDirectory: URL { directory.appendingPathComponent("nodes") }

    /// Loads the CA from `<dataDirectory>/tls`, or makes one when there is none (a first start,
    /// or a data directory from before the launcher made certificates). A CA that cannot be
    /// read, does not match its key, or is close to its end is replaced: every node
    /// certificate is then reissued by `nodeFiles(for:)`, and since the launcher restarts all
    /// nodes together, they all trust the new CA at once. `replaced` says why, for the log.
    public static func loadOrCreate(dataDirectory: URL, now: Date = Date()) throws -> (ClusterCertificates, replaced: String?) {
        let directory = dataDirectory.appendingPathComponent(directoryName)
        try PrivateFiles.makeDirectory(directory)
        try PrivateFiles.restrict(directory, mode: 0o700)
        let certificateFile = directory.appendingPathComponent("ca.pem")
        let keyFile = directory.appendingPathComponent("ca-key.pem")
        var replaced: String?
        if let certificatePEM = try? String(contentsOf: certificateFile, encoding: .utf8),
           let keyPEM = try? String(contentsOf: keyFile, encoding: .utf8) {
            do {
                let authority = try CertificateAuthority(certificatePEM: certificatePEM, keyPEM: keyPEM)
                if authority.certificate.notValidAfter.timeIntervalSince(now) > renewalMargin {
                    return (ClusterCertificates(directory: directory, authority: authority), nil)
                }
                replaced = "the cluster CA in \(certificateFile.path) expires on \(authority.certificate.notValidAfter)"
            } catch {
                replaced = "the cluster CA in \(directory.path) cannot be used: \(error)"
            }
        } else if FileManager.default.fileExists(atPath: certificateFile.path) || FileManager.default.fileExists(atPath: keyFile.path) {
            replaced = "only one of ca.pem and ca-key.pem is in \(directory.path)"
        }
        let authority = try CertificateAuthority(
            commonName: "kv-launcher cluster CA", notBefore: now.addingTimeInterval(-backdating),
            notAfter: now.addingTimeInterval(authorityValidity))
        // The key first: a crash between the two writes leaves a pair that does not match,
        // which the next start replaces, never a certificate whose key is lost.
        try PrivateFiles.writeAtomically(Data(authority.keyPEM.utf8), to: keyFile)
        try PrivateFiles.writeAtomically(Data(try authority.certificatePEM.utf8), to: certificateFile)
        return (ClusterCertificates(directory: directory, authority: authority), replaced)
    }

    private init(directory: URL, authority: CertificateAuthority) {
        self.directory = directory
        self.authority = authority
    }

    /// Where node `id`'s certificate and key are, whether or not they exist yet.
    public func paths(for id: NodeID) -> PeerTLSPaths {
        PeerTLSPaths(
            certificate: nodesDirectory.appendingPathComponent("\(id.rawValue).pem").path,
            key: nodesDirectory.appendingPathComponent("\(id.rawValue)-key.pem").path,
            trustedCA: authorityFile)
    }

    /// Node `id`'s files, issued now unless a usable pair is already there: one that parses,
    /// whose key is the certificate's, that this CA signed for this id and `host`, and that
    /// has more than `renewalMargin` left. So a restart reuses them, and a node added later,
    /// a node from before certificates, or one whose CA was replaced gets them here.
    @discardableResult
    public func nodeFiles(for id: NodeID, host: String, now: Date = Date()) throws -> PeerTLSPaths {
        let paths = paths(for: id)
        // Deleted under a running launcher: written back from memory, so the node can start.
        // (A rotation is a launcher restart without tls/, Docs/SECURITY.md.)
        if !FileManager.default.fileExists(atPath: authorityFile) || !FileManager.default.fileExists(atPath: authorityKeyFile) {
            try PrivateFiles.makeDirectory(directory)
            try PrivateFiles.writeAtomically(Data(authority.keyPEM.utf8), to: URL(fileURLWithPath: authorityKeyFile))
            try PrivateFiles.writeAtomically(Data(try authority.certificatePEM.utf8), to: URL(fileURLWithPath: authorityFile))
        }
        if isUsable(paths, for: id, host: host, now: now) { return paths }
        try PrivateFiles.makeDirectory(nodesDirectory)
        try PrivateFiles.restrict(nodesDirectory, mode: 0o700)
        let address = Self.ipAddressBytes(host)
        let issued = try authority.issue(
            commonName: id.rawValue, dnsNames: address == nil ? [id.rawValue, host] : [id.rawValue],
            ipAddresses: address.map { [$0] } ?? [],
            notBefore: now.addingTimeInterval(-Self.backdating), notAfter: now.addingTimeInterval(Self.nodeValidity))
        // The key first, for the same reason as the CA's.
        try PrivateFiles.writeAtomically(Data(issued.keyPEM.utf8), to: URL(fileURLWithPath: paths.key))
        try PrivateFiles.writeAtomically(Data(try issued.certificatePEM.utf8), to: URL(fileURLWithPath: paths.certificate))
        return paths
    }

    /// Deletes node `id`'s certificate and key: a decommissioned node's identity goes with it.
    /// (Its certificate stays valid for anyone who copied it; the CA has no revocation list.)
    public func remove(_ id: NodeID) {
        let paths = paths(for: id)
        for file in [paths.certificate, paths.key] { unlink(file) }
    }

    private func isUsable(_ paths: PeerTLSPaths, for id: NodeID, host: String, now: Date) -> Bool {
        guard let certificatePEM = try? String(contentsOfFile: paths.certificate, encoding: .utf8),
              let keyPEM = try? String(contentsOfFile: paths.key, encoding: .utf8),
              let pair = try? IssuedCertificate(certificatePEM: certificatePEM, keyPEM: keyPEM) else { return false }
        let certificate = pair.certificate
        guard authority.signed(certificate),
              certificate.notValidAfter.timeIntervalSince(now) > Self.renewalMargin,
              certificate.notValidBefore <= now else { return false }
        let names = (try? certificate.extensions.subjectAlternativeNames).map { Array($0) } ?? []
        let wanted: GeneralName = Self.ipAddressBytes(host).map { .ipAddress(.init(contentBytes: $0[...])) } ?? .dnsName(host)
        return names.contains(.dnsName(id.rawValue)) && names.contains(wanted)
    }

    /// The four bytes of a dotted IPv4 address, or nil for anything else (taken as a DNS name).
    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { $0.count <= 3 ? UInt8($0) : nil }
        return bytes.count == 4 ? bytes : nil
    }
}

/// One node's peer TLS files, as kv-node's `--peer-*` flags take them.
public struct PeerTLSPaths: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var trustedCA: String

    public var kvNodeArguments: [String] {
        ["--peer-cert-file", certificate, "--peer-key-file", key, "--peer-trusted-ca-file", trustedCA]
    }
}
