import Foundation
import Launcher
import PeerCertificates
import Testing
import X509

/// The launcher's cluster CA and node certificates in `<data-dir>/tls`: made on the first
/// start, reused on the next, made for what is missing, deleted with their node, and passed
/// to every kv-node it starts.
@Suite struct ClusterCertificatesTests {
    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }

    private func certificate(at path: String) throws -> Certificate {
        try Certificate(pemEncoded: try String(contentsOfFile: path, encoding: .utf8))
    }

    private func contents(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func aFirstStartMakesACAAndNodeCertificatesWithTheNodesIdentity() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificates, replaced) = try ClusterCertificates.loadOrCreate(dataDirectory: directory.url)
        #expect(replaced == nil)
        let paths = try certificates.nodeFiles(for: NodeID("node1")!, host: "127.0.0.1")

        let tls = directory.url.appendingPathComponent("tls").path
        #expect(try mode(tls) == 0o700)
        #expect(try mode(tls + "/nodes") == 0o700)
        #expect(try mode(tls + "/ca-key.pem") == 0o600)
        #expect(try mode(paths.key) == 0o600)
        #expect(paths.trustedCA == tls + "/ca.pem")
        #expect(paths.certificate == tls + "/nodes/node1.pem")

        let authority = try certificate(at: paths.trustedCA)
        #expect(authority.notValidAfter.timeIntervalSinceNow > 9 * 365 * 86_400)
        if case .isCertificateAuthority = try authority.extensions.basicConstraints {} else {
            Issue.record("the CA certificate is not a CA")
        }
        let leaf = try certificate(at: paths.certificate)
        #expect(leaf.subject.description.contains("CN=node1"))
        let names = Array(try #require(try leaf.extensions.subjectAlternativeNames))
        #expect(names.contains(.dnsName("node1")))
        #expect(names.contains(.ipAddress(.init(contentBytes: [127, 0, 0, 1]))))
        #expect(leaf.issuer == authority.subject)
        #expect(authority.publicKey.isValidSignature(leaf.signature, for: leaf))
        #expect((365 * 86_400...3 * 365 * 86_400).contains(leaf.notValidAfter.timeIntervalSinceNow))
        #expect(try leaf.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        // The key is the certificate's.
        _ = try IssuedCertificate(certificatePEM: try contents(paths.certificate), keyPEM: try contents(paths.key))
    }

    @Test func aRestartReusesTheCAAndEveryNodeCertificate() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let id = NodeID("node2")!
        let first = try ClusterCertificates.loadOrCreate(dataDirectory: directory.url).0
        let paths = try first.nodeFiles(for: id, host: "127.0.0.1")
        let before = try [paths.trustedCA, paths.certificate, paths.key, first.directory.path + "/ca-key.pem"].map(contents)

        let (second, replaced) = try ClusterCertificates.loadOrCreate(dataDirectory: directory.url)
        #expect(replaced == nil)
        #expect(try second.nodeFiles(for: id, host: "127.0.0.1") == paths)
        let after = try [paths.trustedCA, paths.certificate, paths.key, second.directory.path + "/ca-key.pem"].map(contents)
        #expect(before == after)
    }

    @Test func whatIsMissingOrUnusableIsMadeAnew() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let id = NodeID("node1")!
        let certificates = try ClusterCertificates.loadOrCreate(dataDirectory: directory.url).0
        let paths = try certificates.nodeFiles(for: id, host: "127.0.0.1")
        let original = try contents(paths.certificate)

        // A lost key: the pair is reissued.
        try FileManager.default.removeItem(atPath: paths.key)
        try certificates.nodeFiles(for: id, host: "127.0.0.1")
        let reissued = try contents(paths.certificate)
        #expect(reissued != original)
        _ = try IssuedCertificate(certificatePEM: reissued, keyPEM: try contents(paths.key))

        // Close to its end (seen from 710 days on, 20 left): reissued, valid from then.
        let later = Date().addingTimeInterval(710 * 86_400)
        try certificates.nodeFiles(for: id, host: "127.0.0.1", now: later)
        let renewed = try certificate(at: paths.certificate)
        #expect(renewed.notValidAfter > later.addingTimeInterval(365 * 86_400), "\(renewed.notValidBefore) - \(renewed.notValidAfter)")

        // Another host: reissued with that name.
        try certificates.nodeFiles(for: id, host: "kv-1.internal")
        let names = Array(try #require(try certificate(at: paths.certificate).extensions.subjectAlternativeNames))
        #expect(names.contains(.dnsName("kv-1.internal")) && names.contains(.dnsName("node1")))

        // Deleted under a running launcher: the CA it holds is written back, the same one.
        let authorityPEM = try contents(paths.trustedCA)
        try FileManager.default.removeItem(at: certificates.directory)
        try certificates.nodeFiles(for: id, host: "kv-1.internal")
        #expect(try contents(paths.trustedCA) == authorityPEM)
        #expect(try mode(certificates.directory.path) == 0o700)
        let restored = try certificate(at: paths.certificate)
        #expect(try certificate(at: paths.trustedCA).publicKey.isValidSignature(restored.signature, for: restored))

        // A damaged CA is replaced, and the node certificates it signed are reissued by the new one.
        try "not a certificate".write(toFile: paths.trustedCA, atomically: true, encoding: .utf8)
        let (replacement, replaced) = try ClusterCertificates.loadOrCreate(dataDirectory: directory.url)
        #expect(replaced?.contains("cannot be used") == true)
        let before = try contents(paths.certificate)
        try replacement.nodeFiles(for: id, host: "kv-1.internal")
        #expect(try contents(paths.certificate) != before)
        let authority = try certificate(at: paths.trustedCA)
        let leaf = try certificate(at: paths.certificate)
        #expect(authority.publicKey.isValidSignature(leaf.signature, for: leaf))
    }

    /// A data directory from before the launcher made certificates: cluster.json and node
    /// directories, no tls/. The nodes start, each with a certificate made at its start.
    @Test func nodesOfADataDirectoryWithoutCertificatesStartWithPeerTLS() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let old = try TestLauncher(directory: directory)
        await old.start()
        await old.stop()
        try FileManager.default.removeItem(at: old.dataDirectory.appendingPathComponent("tls"))
        // Each node's log keeps the old run's lines: only a start after them counts.
        func starts(_ id: String, in launcher: TestLauncher) -> [Substring] {
            launcher.log(of: id).split(separator: "\n").filter { $0.hasPrefix("--- kv-launcher") && $0.contains("starting") }
        }
        let earlier = Dictionary(uniqueKeysWithValues: ["node1", "node2", "node3"].map { ($0, starts($0, in: old).count) })

        let launcher = try TestLauncher(directory: directory)
        await launcher.start()
        let tls = launcher.dataDirectory.appendingPathComponent("tls").path
        for id in ["node1", "node2", "node3"] {
            #expect(await eventually { starts(id, in: launcher).count > earlier[id, default: 0] })
            let line = try #require(starts(id, in: launcher).last)
            #expect(line.contains("--peer-cert-file \(tls)/nodes/\(id).pem --peer-key-file \(tls)/nodes/\(id)-key.pem --peer-trusted-ca-file \(tls)/ca.pem"))
            #expect(FileManager.default.fileExists(atPath: "\(tls)/nodes/\(id)-key.pem"))
        }
        await launcher.stop()
    }

    @Test func anAddedNodeGetsACertificateAndADeletedNodeLosesIt() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        let view = try await launcher.controller.add("node4")
        #expect(view.id == "node4")
        let nodes = launcher.dataDirectory.appendingPathComponent("tls/nodes").path
        #expect(FileManager.default.fileExists(atPath: nodes + "/node4.pem"))
        #expect(await eventually { launcher.log(of: "node4").contains("--peer-cert-file \(nodes)/node4.pem") })

        try await launcher.controller.delete("node4", force: false)
        #expect(!FileManager.default.fileExists(atPath: nodes + "/node4.pem"))
        #expect(!FileManager.default.fileExists(atPath: nodes + "/node4-key.pem"))
        #expect(FileManager.default.fileExists(atPath: nodes + "/node1.pem"))
        await launcher.stop()
    }

    @Test func noNodeMayBeCalledLikeTheCertificateDirectory() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await #expect(throws: ControlError.self) { try await launcher.supervisor.addNode(NodeID("tls")!) }
        #expect(await launcher.supervisor.snapshot().config.node(NodeID("tls")!) == nil)
        #expect(FileManager.default.fileExists(atPath: launcher.dataDirectory.path + "/tls/ca.pem"))
    }
}
