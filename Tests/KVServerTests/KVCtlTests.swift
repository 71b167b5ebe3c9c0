import Crypto
import Foundation
import HTTPTestSupport
import TLSTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `kvctl` binary as an operator runs it, against real kv-node processes: `-w json` output
/// compared whole against what the cluster answers (revisions taken from it), exit codes
/// 0/1/2/3, stdin, and the cluster, lock, snapshot and export commands.
@Suite("kvctl", .serialized)
struct KVCtlTests {
    @Test("put, get, del and txn: golden JSON, stdin, the environment, and exit codes 0, 1, 2 and 3")
    func keyCommands() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: node.apiAddress)

            let put = try await kvctl.ok(["-w", "json", "put", "a", "1"])
            let revision = try Self.number("revision", in: put.stdout)
            #expect(put.stdout == #"{"key":"a","revision":\#(revision)}"# + "\n")
            #expect(try await kvctl.ok(["-w", "json", "get", "a"]).stdout
                    == #"{"count":1,"kvs":[{"create_revision":\#(revision),"key":"a","revision":\#(revision),"value":"1","version":1}]}"# + "\n")
            #expect(try await kvctl.ok(["get", "a"]).stdout == "a\n1\n")
            #expect(try await kvctl.ok(["get", "nothing"]).stdout == "")

            // The value from stdin, every byte of it; the endpoints from the environment.
            #expect(try await kvctl.ok(["put", "b", "-"], stdin: "two\nlines").stdout == "OK\n")
            let fromEnvironment = KVCtlRunner(directory: cluster.root, endpoints: nil, environment: ["KVCTL_ENDPOINTS": node.apiAddress])
            #expect(try await fromEnvironment.ok(["get", "b"]).stdout == "b\ntwo\nlines\n")
            #expect(try await kvctl.ok(["-w", "json", "get", "", "--prefix", "--keys-only"]).stdout
                    == #"{"count":2,"kvs":[{"key":"a"},{"key":"b"}]}"# + "\n")

            // 1: the server refused, with its message.
            let refused = try await kvctl.run(["put", "a", "lost", "--if-revision", String(revision + 100)])
            #expect(refused.status == 1)
            #expect(refused.stderr == "Error: revision mismatch (key a is at revision \(revision))\n")
            #expect(refused.stdout == "")
            // 2: usage, a key the node would refuse among them (checked before sending).
            for usage in [["get"], ["put", "a", "1", "--if-revision", "x"], ["frobnicate"], ["-w", "yaml", "get", "a"],
                          ["put", String(repeating: "k", count: 512), "v"], ["get", ""]] {
                let run = try await kvctl.run(usage)
                #expect(run.status == 2, "kvctl \(usage.joined(separator: " ").prefix(80)): \(run)")
            }
            // 3: nothing listens there.
            let closed = KVCtlRunner(directory: cluster.root, endpoints: "127.0.0.1:\(PortAllocator.ports(1)[0])")
            #expect(try await closed.run(["get", "a"]).status == 3)

            // A transaction in etcdctl's syntax from stdin, also with CRLF line endings.
            let script = "mod(\"a\") = \"\(revision)\"\nvalue(\"b\") != \"x\"\n\nput a \"new value\"\nget a\n\nget a\n"
            let txn = try await kvctl.ok(["-w", "json", "txn"], stdin: script)
            let txnRevision = try Self.number("revision", in: txn.stdout)
            #expect(txn.stdout == #"{"results":[{"key":"a","op":"put","revision":\#(txnRevision)},{"create_revision":\#(revision),"found":true,"key":"a","op":"get","revision":\#(txnRevision),"value":"new value","version":2}],"revision":\#(txnRevision),"succeeded":true}"# + "\n")
            #expect(try await kvctl.ok(["txn"], stdin: script).stdout == "FAILURE\n\na\nnew value\n")

            #expect(try await kvctl.ok(["-w", "json", "del", "b"]).stdout.hasPrefix(#"{"deleted":1,"revision":"#))
        }
    }

    @Test("over HTTPS with a client certificate and credentials: --cacert, --cert, --key, --user and --token")
    func tlsAndCredentials() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 1, nodeArguments: { id, root in
            let files = try ClientSecurityTests.serverFiles(authority, id: id, root: root)
            let auth = root.appendingPathComponent("auth.json")
            let token = "kvctl-test-token-0123456789"
            var document = try #require(try JSONSerialization.jsonObject(with: ClientSecurityTests.authFile(users: ["ops", "app"])) as? [String: Any])
            document["tokens"] = [["name": "ci", "token_sha256": SHA256Hex.of(token), "roles": [["role": "read", "prefixes": [""]]]]]
            try JSONSerialization.data(withJSONObject: document).write(to: auth)
            return ["--cert-file", files.certificate, "--key-file", files.key, "--trusted-ca-file", files.trustedCA,
                    "--client-cert-auth", "--auth-file", auth.path]
        }) { cluster in
            let node = cluster.nodes[0]
            let client = try authority.writeFiles(commonName: "kvctl", into: cluster.root.appendingPathComponent("kvctl-tls"))
            let tls = ["--cacert", client.trustedCA, "--cert", client.certificate, "--key", client.key]
            // The certificate names localhost, not the address: kvctl checks the name, as it should.
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: "https://localhost:\(node.apiPort)")
            try await eventually("the node to lead and answer kvctl over HTTPS", timeout: .seconds(60)) { () async throws -> Bool in
                let run = try await kvctl.run(tls + ["--user", "ops:spo", "put", "secure", "yes"])
                guard run.status == 0 else { throw NotYet("\(run)") }
                return true
            }
            #expect(try await kvctl.ok(tls + ["--user", "ops:spo", "get", "secure"]).stdout == "secure\nyes\n")
            #expect(try await kvctl.ok(tls + ["--token", "kvctl-test-token-0123456789", "get", "secure"]).stdout == "secure\nyes\n")
            // The server refuses: no credentials (401), a wrong password (401), a key outside
            // the user's prefixes (403), a read-only token writing.
            for (arguments, status) in [([String](), "401"), (["--user", "ops:wrong"], "401"), (["--user", "app:ppa"], "403"),
                                        (["--token", "kvctl-test-token-0123456789"], "403")] {
                let refused = try await kvctl.run(tls + arguments + ["put", "secure", "no"])
                #expect(refused.status == 1, "\(arguments): \(refused)")
                #expect(!refused.stderr.isEmpty, "\(arguments) (\(status)): \(refused)")
            }
            #expect(try await kvctl.ok(tls + ["--user", "app:ppa", "put", "app/x", "1"]).stdout == "OK\n")
            // Without a client certificate the TLS handshake fails: no endpoint could be used.
            let noCertificate = try await kvctl.run(["--cacert", client.trustedCA, "--user", "ops:spo", "get", "secure"])
            #expect(noCertificate.status == 3, "\(noCertificate)")
        }
    }

    @Test("a lock held around a command, which runs in kvctl's process group, and released after it")
    func lockCommand() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: try await cluster.leader().apiAddress)
            // Field 5 of /proc/PID/stat is the process group: the command's and kvctl's (its parent's).
            let groups = #"echo held $KVCTL_LOCK_KEY; echo $(cut -d' ' -f5 /proc/$$/stat) $(cut -d' ' -f5 /proc/$PPID/stat)"#
            let locked = try await kvctl.ok(["lock", "jobs", "--", "sh", "-c", groups])
            let lines = locked.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("held jobs/") == true, "\(locked)")
            let pair = lines.dropFirst().first?.split(separator: " ") ?? []
            #expect(pair.count == 2 && pair.first == pair.last, "the command left kvctl's process group: \(locked)")
            #expect(try await kvctl.ok(["-w", "json", "get", "jobs/", "--prefix"]).stdout == #"{"count":0,"kvs":[]}"# + "\n")
            #expect(try await kvctl.ok(["-w", "json", "lease", "list"]).stdout == #"{"leases":[]}"# + "\n")
            // The command's status is kvctl's.
            #expect(try await kvctl.run(["lock", "jobs", "--", "sh", "-c", "exit 7"]).status == 7)
        }
    }

    @Test("a snapshot saved and described; a damaged file and a file that cannot be written are exit 1")
    func snapshotCommands() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: try await cluster.leader().apiAddress)
            _ = try await kvctl.ok(["put", "a", "1"])
            let file = cluster.root.appendingPathComponent("backup.snap").path
            let saved = try await kvctl.ok(["-w", "json", "snapshot", "save", file])
            let savedRevision = try Self.number("revision", in: saved.stdout)
            #expect(!FileManager.default.fileExists(atPath: file + ".part"))
            let status = try await kvctl.ok(["-w", "json", "snapshot", "status", file])
            #expect(try Self.number("revision", in: status.stdout) == savedRevision)
            #expect(try Self.number("keys", in: status.stdout) == 1)
            #expect(try Self.number("bytes", in: status.stdout) == Self.number("bytes", in: saved.stdout))
            #expect(status.stdout.contains(#""members":["node1"]"#))
            let damaged = cluster.root.appendingPathComponent("damaged.snap").path
            try Data(try Data(contentsOf: URL(fileURLWithPath: file)).dropLast(3)).write(to: URL(fileURLWithPath: damaged))
            #expect(try await kvctl.run(["snapshot", "status", damaged]).status == 1)
            let nowhere = cluster.root.appendingPathComponent("missing-directory/backup.snap").path
            let unwritable = try await kvctl.run(["snapshot", "save", nowhere])
            #expect(unwritable.status == 1, "\(unwritable)")
        }
    }

    @Test("export and import into a fresh cluster give the same pairs back; an export to a full disk is exit 1")
    func exportAndImport() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: try await cluster.leader().apiAddress)
            for index in 0..<30 { _ = try await kvctl.ok(["put", "exp/\(index)", "value \(index) \"quoted\" é"]) }
            let exported = try await kvctl.ok(["export", "exp/"]).stdout
            #expect(exported.split(separator: "\n").count == 30)
            // stdout on a full device: a local write error, not an unreachable cluster.
            let full = try await kvctl.run(["export", "exp/"], stdout: URL(fileURLWithPath: "/dev/full"))
            #expect(full.status == 1, "\(full)")
            #expect(full.stderr.hasPrefix("Error: stdout"), "\(full)")
            let exportFile = cluster.root.appendingPathComponent("export.ndjson")
            try Data(exported.utf8).write(to: exportFile)
            try await TestCluster.with(size: 1) { fresh in
                let target = KVCtlRunner(directory: cluster.root, endpoints: try await fresh.leader().apiAddress)
                let imported = try await target.ok(["-w", "json", "import", exportFile.path])
                #expect(try Self.number("imported", in: imported.stdout) == 30)
                #expect(try await target.ok(["export"]).stdout == exported)
                #expect(try await target.ok(["-w", "json", "get", "exp/", "--prefix"]).stdout
                        == kvctl.ok(["-w", "json", "get", "exp/", "--prefix"]).stdout)
            }
        }
    }

    @Test("member list, endpoint status --cluster, move-leader to each voter and to a learner")
    func clusterCommands() async throws {
        try await TestCluster.with(size: 3) { cluster in
            var leader = try await cluster.leader()
            let kvctl = KVCtlRunner(directory: cluster.root, endpoints: cluster.nodes.map(\.apiAddress).joined(separator: ","))

            let members = cluster.nodes.map {
                #"{"api_addr":"\#($0.apiAddress)","id":"\#($0.id)","raft_addr":"\#($0.raftAddress)","voter":true}"#
            }
            #expect(try await kvctl.ok(["-w", "json", "member", "list"]).stdout == #"{"members":[\#(members.joined(separator: ","))]}"# + "\n")

            // One row per member, found through the first endpoint's configuration.
            let first = KVCtlRunner(directory: cluster.root, endpoints: cluster.nodes[0].apiAddress)
            let status = try await first.ok(["-w", "json", "endpoint", "status", "--cluster"])
            let rows = try #require(try Self.object(status.stdout)["endpoints"] as? [[String: Any]])
            #expect(Set(rows.compactMap { $0["id"] as? String }) == Set(cluster.nodes.map(\.id)))
            #expect(Set(rows.compactMap { $0["endpoint"] as? String }) == Set(cluster.nodes.map(\.apiAddress)))
            #expect(rows.filter { $0["role"] as? String == "leader" }.count == 1)
            #expect(rows.allSatisfy { ($0["db_size_bytes"] as? Int ?? 0) > 0 })
            let table = try await first.ok(["-w", "table", "endpoint", "status", "--cluster"]).stdout
            #expect(table.split(separator: "\n").filter { $0.hasPrefix("| 127.0.0.1:") }.count == 3)
            #expect(try await first.ok(["endpoint", "health", "--cluster"]).stdout.split(separator: "\n").count == 3)

            // Leadership moved to each voter in turn.
            for target in cluster.nodes where target.id != leader.id {
                let term = try await leader.client.status().term
                let moved = try await kvctl.ok(["-w", "json", "move-leader", target.id])
                #expect(moved.stdout.hasPrefix(#"{"leader":"\#(target.id)","term":"#))
                leader = try await cluster.leader(newerThan: term)
                #expect(leader.id == target.id)
            }

            // A learner that never catches up (nothing runs at its address) cannot lead.
            let ports = PortAllocator.ports(2)
            _ = try await kvctl.ok(["member", "add", "node4", "--raft-addr", "127.0.0.1:\(ports[0])", "--api-addr", "127.0.0.1:\(ports[1])"])
            let listed = try await kvctl.ok(["member", "list"]).stdout
            #expect(listed.contains("node4, learner, 127.0.0.1:\(ports[0]), 127.0.0.1:\(ports[1])"))
            let refused = try await kvctl.run(["move-leader", "node4"])
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr.hasPrefix("Error: "))
            #expect(try await kvctl.run(["move-leader", "node9"]).status == 1)
            _ = try await kvctl.ok(["member", "remove", "node4"])
            #expect(try await cluster.leader().id == leader.id)
        }
    }

    static func object(_ json: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw Unexpected("not a JSON object: \(json)")
        }
        return object
    }

    /// A whole-number field of a one-line JSON object.
    static func number(_ field: String, in json: String) throws -> Int {
        guard let number = try object(json)[field] as? Int else { throw Unexpected("no \(field) in \(json)") }
        return number
    }
}

/// One finished run of `kvctl`.
struct KVCtlRun: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status), stdout: \(stdout.prefix(500)), stderr: \(stderr.prefix(500))" }
}

/// Runs the `kvctl` built next to kv-node, with its output in files under the cluster's
/// directory (removed with it), and kills it if it outlives its deadline.
struct KVCtlRunner {
    var directory: URL
    /// `--endpoints`, written before the command as etcdctl users do; nil leaves it out.
    var endpoints: String?
    var environment: [String: String] = [:]

    /// A run that must exit 0.
    func ok(_ arguments: [String], stdin: String? = nil) async throws -> KVCtlRun {
        let run = try await run(arguments, stdin: stdin)
        guard run.status == 0 else { throw Unexpected("kvctl \(arguments.joined(separator: " ")): \(run)") }
        return run
    }

    /// `stdout` names a file for kvctl's standard output instead of one of the runner's own
    /// (`/dev/full`, to make writes fail); the run's `stdout` is then empty.
    func run(_ arguments: [String], stdin: String? = nil, stdout: URL? = nil, timeout: Duration = .seconds(90)) async throws -> KVCtlRun {
        let id = UUID().uuidString
        let files = ["in", "out", "err"].map { directory.appendingPathComponent("kvctl-\(id).\($0)") }
        defer { for file in files { try? FileManager.default.removeItem(at: file) } }
        try Data((stdin ?? "").utf8).write(to: files[0])
        for file in files.dropFirst() { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let input = try FileHandle(forReadingFrom: files[0])
        let output = try FileHandle(forWritingTo: stdout ?? files[1])
        let errors = try FileHandle(forWritingTo: files[2])
        defer { for handle in [input, output, errors] { try? handle.close() } }

        let process = Process()
        process.executableURL = try NodeProcess.binary().deletingLastPathComponent().appendingPathComponent("kvctl")
        process.arguments = (endpoints.map { ["--endpoints", $0] } ?? []) + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "KVCTL_ENDPOINTS" }.merging(environment) { $1 }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        // Another test closing a descriptor while Foundation lists them for the child can make
        // one spawn fail with EBADF (see NodeProcess.start): try again.
        try await eventually("kvctl to start", timeout: .seconds(10)) { try process.run() }
        // Foundation starts the child as the leader of a process group of its own, and kvctl
        // runs a lock's command in that group: killing the group leaves no command orphaned,
        // also when kvctl itself had to be killed.
        let group = process.processIdentifier
        defer {
            kill(-group, SIGKILL)
            if process.isRunning { kill(group, SIGKILL) }
        }
        try await eventually("kvctl \(arguments.joined(separator: " ")) to exit", timeout: timeout, every: .milliseconds(20)) {
            process.isRunning ? nil : true
        }
        return KVCtlRun(status: process.terminationStatus,
                        stdout: String(decoding: try Data(contentsOf: files[1]), as: UTF8.self),
                        stderr: String(decoding: try Data(contentsOf: files[2]), as: UTF8.self))
    }
}

/// The hex SHA-256 an auth file stores for a bearer token.
enum SHA256Hex {
    static func of(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
