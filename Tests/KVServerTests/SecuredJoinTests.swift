import Foundation
import HummingbirdBcrypt
import TLSTestSupport
import Testing

/// `--join` into a cluster that serves its API over HTTPS, asks for client certificates and
/// checks credentials (Docs/SECURITY.md, "Joining a secured cluster"): the newcomer trusts
/// the cluster's CA, presents its own API certificate, and sends an admin's credentials.
@Suite("Joining a secured cluster", .serialized)
struct SecuredJoinTests {
    static let loopback: [UInt8] = [127, 0, 0, 1]

    /// The node's API certificate (for 127.0.0.1, also used as its client certificate) and
    /// the flags that make it serve HTTPS to certificate holders with `ops` as the admin.
    static func securedArguments(_ authority: TestCertificateAuthority, id: String, root: URL) throws -> [String] {
        let files = try authority.writeFiles(commonName: id, ipAddresses: [loopback], file: "\(id)-api",
                                             into: root.appendingPathComponent("api-tls"))
        let users: [[String: Any]] = [["name": "ops", "password_bcrypt": Bcrypt.hash("sesame", cost: 4),
                                       "roles": [["role": "admin"]]]]
        let auth = root.appendingPathComponent("auth-\(id).json")
        try JSONSerialization.data(withJSONObject: ["users": users]).write(to: auth)
        return ["--cert-file", files.certificate, "--key-file", files.key, "--trusted-ca-file", files.trustedCA,
                "--client-cert-auth", "--auth-file", auth.path]
    }

    @Test("a newcomer with the CA, its certificate and an admin's credentials is admitted; wrong credentials are not")
    func joinsOverHTTPSWithCredentials() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 1, nodeArguments: { id, root in
            try Self.securedArguments(authority, id: id, root: root)
        }) { cluster in
            let founder = cluster.nodes[0]
            let ca = cluster.root.appendingPathComponent("api-tls/ca.pem").path
            let wrong = cluster.root.appendingPathComponent("wrong-credentials")
            try Data("ops:open".utf8).write(to: wrong)
            let right = cluster.root.appendingPathComponent("credentials")
            try Data("ops:sesame\n".utf8).write(to: right)
            let target = "https://127.0.0.1:\(founder.apiPort)"

            let refused = try cluster.startNode(id: "refused") { node in
                try Self.securedArguments(authority, id: node.id, root: cluster.root)
                    + ["--join", target, "--join-ca-file", ca, "--join-credentials-file", wrong.path]
            }
            try await eventually("the founder refuses the wrong password") { () -> Bool? in
                refused.logTail(lines: 500).contains("join refused") && refused.logTail(lines: 500).contains("401") ? true : nil
            }

            let admitted = try cluster.startNode(id: "admitted") { node in
                try Self.securedArguments(authority, id: node.id, root: cluster.root)
                    + ["--join", target, "--join-ca-file", ca, "--join-credentials-file", right.path]
            }
            try await eventually("the newcomer is admitted") { () -> Bool? in
                admitted.logTail(lines: 500).contains("join accepted") ? true : nil
            }
            let client = cluster.root.appendingPathComponent("api-tls/admitted-api.pem").path
            let clientKey = cluster.root.appendingPathComponent("api-tls/admitted-api-key.pem").path
            try await HTTPSClient.with(trustedCA: ca, certificate: client, key: clientKey) { https in
                try await eventually("the founder lists the newcomer and not the refused node") { () -> Bool? in
                    let status = try await https.send(.GET, "\(target)/cluster/status")
                    let ids = (status.object?["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                    return Set(ids) == ["node1", "admitted"] ? true : nil
                }
            }
        }
    }

    @Test("--join flags that cannot work stop kv-node: a usage error (64) or an unusable file (2)")
    func badJoinFlagsStopTheNode() async throws {
        try await TestCluster.with(size: 0) { cluster in
            let missing = cluster.root.appendingPathComponent("nowhere.pem").path
            let cases: [(id: String, flags: [String], status: Int32, message: String)] = [
                ("bad-scheme", ["--join", "ftp://127.0.0.1:1"], 64, "--join must be HOST:PORT or https://HOST:PORT"),
                ("lone-ca", ["--join-ca-file", missing], 64, "need --join"),
                ("missing-ca", ["--join", "https://127.0.0.1:1", "--join-ca-file", missing], 2, "--join-ca-file"),
                ("missing-credentials", ["--join", "127.0.0.1:1", "--join-credentials-file", missing], 2, missing),
            ]
            for item in cases {
                let node = try cluster.startNode(id: item.id) { _ in item.flags }
                #expect(try await node.waitForExit() == item.status, "\(item.id): \(node.logTail(lines: 20))")
                #expect(node.logTail().contains(item.message), "\(item.id): \(node.logTail(lines: 20))")
            }
        }
    }
}
