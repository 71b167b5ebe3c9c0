import AsyncHTTPClient
import Foundation
import HTTPTestSupport
import HummingbirdBcrypt
import NIOHTTP1
import TLSTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// kv-node's client-side security over real sockets (Docs/SECURITY.md, "Clients"): the API
/// over HTTPS, client certificates, `--auth-file` users on both request paths, a forwarded
/// write that keeps its identity, and SIGHUP reloads. Certificates come from CAs made in
/// the test, files are written under the cluster's directory and removed with it.
@Suite("Client TLS and credentials", .serialized)
struct ClientSecurityTests {
    /// Users with their name reversed as password: `app` writes and reads `app/`, `reader`
    /// reads everything, `ops` is admin.
    static func authFile(users: [String]) throws -> Data {
        let roles: [String: [[String: Any]]] = [
            "app": [["role": "write", "prefixes": ["app/"]], ["role": "read", "prefixes": ["app/"]]],
            "reader": [["role": "read", "prefixes": [""]]],
            "ops": [["role": "admin"]],
            "newbie": [["role": "read", "prefixes": [""]]],
        ]
        let entries = users.map { ["name": $0, "password_bcrypt": Bcrypt.hash(String($0.reversed()), cost: 4), "roles": roles[$0] ?? []] }
        return try JSONSerialization.data(withJSONObject: ["users": entries])
    }

    static func basic(_ user: String, _ password: String? = nil) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password ?? String(user.reversed()))".utf8).base64EncodedString()]
    }

    /// The node's TLS files: a server certificate from `authority` under `root/tls`.
    static func serverFiles(_ authority: TestCertificateAuthority, id: String, root: URL) throws -> PeerTLSFiles {
        try authority.writeFiles(commonName: id, dnsNames: [id, "localhost"], file: "\(id)-api",
                                 into: root.appendingPathComponent("client-tls"))
    }

    @Test("the API is served over HTTPS, on the fast path and the routes, and same-origin is https://")
    func httpsServesTheAPI() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 1, nodeArguments: { id, root in
            let files = try Self.serverFiles(authority, id: id, root: root)
            return ["--cert-file", files.certificate, "--key-file", files.key]
        }) { cluster in
            let node = cluster.nodes[0]
            let ca = cluster.root.appendingPathComponent("client-tls/ca.pem").path
            let base = "https://127.0.0.1:\(node.apiPort)"
            try await HTTPSClient.with(trustedCA: ca) { https in
                try await eventually("the node answers over HTTPS") { () -> Bool? in
                    (try? await https.send(.GET, "\(base)/health"))?.status == 200 ? true : nil
                }
                try await eventually("a leader") { () -> Bool? in
                    let status = try await https.send(.GET, "\(base)/cluster/status")
                    return status.object?["leader"] as? String == node.id ? true : nil
                }
                // The fast path (single key) and the routes (listing) over TLS.
                let put = try await https.send(.PUT, "\(base)/kv/secure", body: HTTP.json(["value": "v"]))
                #expect(put.status == 200, "\(put)")
                let get = try await https.send(.GET, "\(base)/kv/secure")
                #expect(get.object?["value"] as? String == "v", "\(get)")
                let list = try await https.send(.GET, "\(base)/kv?prefix=sec")
                #expect(list.object as? [String: String] == ["secure": "v"], "\(list)")
                // The node's own origin is now https://; the http:// one is foreign.
                let same = try await https.send(.DELETE, "\(base)/kv/secure", headers: ["Origin": base])
                #expect(same.status == 200, "\(same)")
                let foreign = try await https.send(.DELETE, "\(base)/kv/secure", headers: ["Origin": "http://127.0.0.1:\(node.apiPort)"])
                #expect(foreign.status == 403, "\(foreign)")
            }
            // A client that does not trust the CA refuses the node's certificate.
            await #expect(throws: (any Error).self) {
                try await HTTPSClient.with(trustedCA: nil) { try await $0.send(.GET, "\(base)/health") }
            }
            // Plain HTTP to the TLS port gets no HTTP answer.
            await #expect(throws: (any Error).self) {
                try await HTTP.send("GET", "http://127.0.0.1:\(node.apiPort)/health", timeout: .seconds(5))
            }
        }
    }

    @Test("a connection that never finishes the TLS handshake is closed by the idle timeout")
    func aStalledHandshakeIsClosed() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 1, arguments: ["--http-idle-timeout-ms", "500"], nodeArguments: { id, root in
            let files = try Self.serverFiles(authority, id: id, root: root)
            return ["--cert-file", files.certificate, "--key-file", files.key]
        }) { cluster in
            let node = cluster.nodes[0]
            let ca = cluster.root.appendingPathComponent("client-tls/ca.pem").path
            try await HTTPSClient.with(trustedCA: ca) { https in
                try await eventually("the node answers over HTTPS") { () -> Bool? in
                    (try? await https.send(.GET, "https://127.0.0.1:\(node.apiPort)/health"))?.status == 200 ? true : nil
                }
            }
            // Connected, and silent: no ClientHello ever comes.
            let silent = try HTTPExchange(port: node.apiPort)
            #expect(try await silent.waitForClose(deadline: .now + .seconds(10)), "still open after 10 s")
            // Half a ClientHello (a TLS record header announcing more than is sent) is no better.
            let partial = try HTTPExchange(port: node.apiPort)
            try await partial.write([0x16, 0x03, 0x01, 0x02, 0x00, 0x01], deadline: .now + .seconds(5))
            #expect(try await partial.waitForClose(deadline: .now + .seconds(10)), "still open after 10 s")
            #expect(node.isRunning)
        }
    }

    @Test("with --client-cert-auth only clients with a certificate from the trusted CA get in")
    func clientCertificatesAreRequired() async throws {
        let authority = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(name: "another CA")
        try await TestCluster.with(size: 1, nodeArguments: { id, root in
            let files = try Self.serverFiles(authority, id: id, root: root)
            return ["--cert-file", files.certificate, "--key-file", files.key,
                    "--trusted-ca-file", files.trustedCA, "--client-cert-auth"]
        }) { cluster in
            let node = cluster.nodes[0]
            let ca = cluster.root.appendingPathComponent("client-tls/ca.pem").path
            let base = "https://127.0.0.1:\(node.apiPort)"
            let good = try authority.writeFiles(commonName: "client", into: cluster.root.appendingPathComponent("good-client"))
            let foreign = try stranger.writeFiles(commonName: "client", into: cluster.root.appendingPathComponent("foreign-client"))
            try await HTTPSClient.with(trustedCA: ca, certificate: good.certificate, key: good.key) { https in
                try await eventually("the node answers a client with a certificate") { () -> Bool? in
                    (try? await https.send(.GET, "\(base)/health"))?.status == 200 ? true : nil
                }
                #expect(try await https.send(.PUT, "\(base)/kv/k", body: HTTP.json(["value": "v"])).status != 401)
            }
            await #expect(throws: (any Error).self, "no client certificate") {
                try await HTTPSClient.with(trustedCA: ca) { try await $0.send(.GET, "\(base)/health") }
            }
            await #expect(throws: (any Error).self, "a certificate from another CA") {
                try await HTTPSClient.with(trustedCA: ca, certificate: foreign.certificate, key: foreign.key) {
                    try await $0.send(.GET, "\(base)/health")
                }
            }
            #expect(node.isRunning)
        }
    }

    @Test("auth-file users on a 3-node cluster: 401, 403, 200, and a write through a follower keeps its identity")
    func usersEndToEnd() async throws {
        try await TestCluster.with(size: 3, arguments: ["--log-level", "debug"], nodeArguments: { id, root in
            let file = root.appendingPathComponent("auth-\(id).json")
            try Self.authFile(users: ["app", "reader", "ops"]).write(to: file)
            return ["--auth-file", file.path]
        }) { cluster in
            let leader = try await cluster.leader()
            let follower = try #require(cluster.followers(of: leader).first)
            let url = "http://\(follower.apiAddress)"
            // Without credentials, or with wrong ones: 401 on the fast path and the routes.
            for (target, headers) in [("/kv/app/x", [:]), ("/kv/app/x", Self.basic("app", "wrong")), ("/kv?prefix=app/", [:])] {
                let reply = try await HTTP.send("GET", url + target, headers: headers)
                #expect(reply.status == 401, "\(target): \(reply)")
                #expect(reply.header("WWW-Authenticate")?.hasPrefix("Basic realm=\"kv\"") == true)
            }
            let anonymous = try await HTTP.send("PUT", url + "/kv/app/x", body: HTTP.json(["value": "no"]))
            #expect(anonymous.status == 401)
            // The first request verifies the password (routes), the next ones are cached (fast path):
            // both are authorised the same way.
            for attempt in 1...3 {
                let put = try await HTTP.send("PUT", url + "/kv/app/x", body: HTTP.json(["value": "\(attempt)"]), headers: Self.basic("app"))
                #expect(put.status == 200, "attempt \(attempt): \(put)")
                let refused = try await HTTP.send("PUT", url + "/kv/other", body: HTTP.json(["value": "no"]), headers: Self.basic("app"))
                #expect(refused.status == 403, "attempt \(attempt): \(refused)")
                let read = try await HTTP.send("GET", url + "/kv/app/x", headers: Self.basic("reader"))
                #expect(read.object?["value"] as? String == "\(attempt)", "\(read)")
                let readOnly = try await HTTP.send("DELETE", url + "/kv/app/x", headers: Self.basic("reader"))
                #expect(readOnly.status == 403)
            }
            let join = try await HTTP.send("POST", url + "/cluster/join",
                                           body: HTTP.json(["id": "evil", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"]),
                                           headers: Self.basic("app"))
            #expect(join.status == 403, "\(join)")
            #expect(try await leader.client.status().members.count == 3)
            // The follower forwarded app's writes; the leader recorded whose they were.
            try await eventually("\(leader.id) logs the forwarded write's identity") { () -> Bool? in
                let lines = leader.logTail(lines: 2_000).split(separator: "\n")
                return lines.contains { $0.contains("forwarded write") && $0.contains("identity=app") } ? true : nil
            }
            // Status, health and metrics stay open.
            for target in ["/health", "/metrics", "/cluster/status"] {
                #expect(try await HTTP.send("GET", url + target).status == 200, "\(target)")
            }
        }
    }

    @Test("SIGHUP reloads the auth file: an added user gets in, a removed one is out, a bad file changes nothing")
    func sighupReloads() async throws {
        try await TestCluster.with(size: 1, nodeArguments: { id, root in
            let file = root.appendingPathComponent("auth.json")
            try Self.authFile(users: ["app", "reader"]).write(to: file)
            return ["--auth-file", file.path]
        }) { cluster in
            let node = cluster.nodes[0]
            let file = cluster.root.appendingPathComponent("auth.json")
            let url = "http://\(node.apiAddress)/kv/app/x"
            _ = try await cluster.leader()
            #expect(try await HTTP.send("GET", url, headers: Self.basic("reader")).status == 404)
            #expect(try await HTTP.send("GET", url, headers: Self.basic("newbie")).status == 401)

            try Self.authFile(users: ["app", "newbie"]).write(to: file)
            node.signal(SIGHUP)
            try await eventually("newbie gets in after the reload") { () -> Bool? in
                try await HTTP.send("GET", url, headers: Self.basic("newbie")).status == 404 ? true : nil
            }
            // reader's header was verified and cached before: the reload forgot it.
            #expect(try await HTTP.send("GET", url, headers: Self.basic("reader")).status == 401)

            try Data("{\"users\": \"nobody\"}".utf8).write(to: file)
            node.signal(SIGHUP)
            try await eventually("the node logs the refused reload") {
                node.logTail(lines: 400).contains("auth file not reloaded") ? true : nil
            }
            #expect(node.isRunning)
            #expect(try await HTTP.send("GET", url, headers: Self.basic("newbie")).status == 404)
        }
    }

    @Test("kv-node stops with status 2 and says why for incomplete client TLS flags or a bad auth file")
    func badFlagsExitTwo() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 0) { cluster in
            let files = try authority.writeFiles(commonName: "solo", into: cluster.root.appendingPathComponent("tls"))
            let badAuth = cluster.root.appendingPathComponent("bad-auth.json")
            try Data("{\"users\": [{\"name\": \"a\", \"password_bcrypt\": \"plain\", \"roles\": []}]}".utf8).write(to: badAuth)
            let cases: [(id: String, arguments: [String], message: String)] = [
                ("certonly", ["--cert-file", files.certificate], "--cert-file and --key-file go together"),
                ("noca", ["--cert-file", files.certificate, "--key-file", files.key, "--client-cert-auth"], "--client-cert-auth needs --trusted-ca-file"),
                ("nohttps", ["--client-cert-auth", "--trusted-ca-file", files.trustedCA], "need HTTPS"),
                ("badkey", ["--cert-file", files.certificate, "--key-file", files.trustedCA], files.trustedCA),
                ("noauth", ["--auth-file", cluster.root.appendingPathComponent("missing.json").path], "missing.json"),
                ("badauth", ["--auth-file", badAuth.path], "not a bcrypt hash"),
            ]
            for item in cases {
                let node = try cluster.startNode(id: item.id) { _ in item.arguments }
                #expect(try await node.waitForExit() == 2, "\(item.id)")
                #expect(node.logTail().contains(item.message), "\(item.id): \(node.logTail())")
            }
        }
    }
}
