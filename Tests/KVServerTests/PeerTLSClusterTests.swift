import ClusterAPI
import Foundation
import TLSTestSupport
import Testing

/// kv-node processes with mutual TLS on their Raft ports (`--peer-cert-file`,
/// `--peer-key-file`, `--peer-trusted-ca-file`), certificates from a CA made in the test and
/// written under the cluster's directory, which is removed with it.
@Suite("Peer mutual TLS", .serialized)
struct PeerTLSClusterTests {
    /// Each node's files under `root/tls`: a certificate with CN and SAN DNS = its id.
    private func tlsArguments(_ authority: TestCertificateAuthority) -> (String, URL) throws -> [String] {
        { id, root in
            try authority.writeFiles(commonName: id, dnsNames: [id], into: root.appendingPathComponent("tls")).kvNodeArguments
        }
    }

    /// A write through the leader reads back linearizably through every running member
    /// (all running nodes unless given).
    private func servesReadsAndWrites(_ cluster: TestCluster, key: String, members: [NodeProcess]? = nil) async throws {
        let running = (members ?? cluster.nodes).filter(\.isRunning)
        let leader = try await cluster.leader(among: running)
        let value = UUID().uuidString
        try await leader.client.putAcknowledged(key, value)
        for node in running {
            let reply = try await node.client.linearizableGet(key)
            #expect(reply.status == 200 && reply.object?["value"] as? String == value, "\(key) via \(node.id): \(reply)")
        }
    }

    @Test("a 3-node cluster with peer mTLS serves reads and writes and survives a leader kill")
    func clusterSurvivesALeaderKill() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 3, nodeArguments: tlsArguments(authority)) { cluster in
            try await servesReadsAndWrites(cluster, key: "before")
            let old = try await cluster.leader()
            let term = try await old.client.status().term
            try await old.kill9()
            let successor = try await cluster.leader(newerThan: term)
            #expect(successor.id != old.id)
            try await servesReadsAndWrites(cluster, key: "after")
            #expect(try await successor.client.linearizableGet("before").status == 200)

            // Back with the same files, the old leader rejoins the encrypted traffic.
            try old.start()
            // Some leader, not necessarily `successor`: on a loaded machine leadership may move again.
            try await eventually("\(old.id) knows a leader again") { () -> Bool? in
                try await old.client.status().leader != nil ? true : nil
            }
            try await servesReadsAndWrites(cluster, key: "rejoined")
        }
    }

    @Test("plaintext Raft connections to a TLS port are refused and logged")
    func plaintextIsRefused() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 3, nodeArguments: tlsArguments(authority)) { cluster in
            let leader = try await cluster.leader()
            let member = try #require(cluster.followers(of: leader).first)
            // A member's id and the right cluster id, in clear: the TLS handshake fails first.
            let peer = try RawRaftPeer(port: leader.raftPort)
            try await peer.send(RaftWire.handshake(sender: member.id))
            // What comes back is a TLS alert record (content type 21), or nothing: no Raft frame.
            let reply = try await peer.firstBytes(5)
            #expect(reply.isEmpty || reply.first == 0x15, "\(reply)")
            try await eventually("\(leader.id) logs the refusal") {
                leader.logTail(lines: 400).contains("TLS handshake failed") ? true : nil
            }
            try await servesReadsAndWrites(cluster, key: "after-plaintext")
        }
    }

    @Test("a fourth node with a certificate from another CA cannot take part in Raft traffic")
    func aForeignCertificateIsShutOut() async throws {
        let authority = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(name: "another CA")
        try await TestCluster.with(size: 3, nodeArguments: tlsArguments(authority)) { cluster in
            try await servesReadsAndWrites(cluster, key: "before-intruder")
            let leader = try await cluster.leader()
            let before = try await leader.client.status()
            let members = cluster.nodes
            // Bootstrapped with the members and itself, it dials all of them and campaigns.
            // It trusts the cluster's CA, so only the members' check of its certificate stops it.
            let intruder = try cluster.startNode(id: "node4") { node in
                let own = try stranger.writeFiles(commonName: "node4", dnsNames: ["node4"],
                                                  into: cluster.root.appendingPathComponent("intruder-tls"))
                let trusted = cluster.root.appendingPathComponent("tls/ca.pem").path
                let files = PeerTLSFiles(certificate: own.certificate, key: own.key, trustedCA: trusted)
                return ["--bootstrap", "--peers", (members + [node]).map(\.peerEntry).joined(separator: ",")]
                    + files.kvNodeArguments
            }
            for member in members {
                try await eventually("\(member.id) refuses the intruder's TLS handshake") {
                    member.logTail(lines: 400).contains("TLS handshake failed") ? true : nil
                }
            }
            #expect(intruder.isRunning)
            try await servesReadsAndWrites(cluster, key: "with-intruder", members: members)
            let after = try await leader.client.status()
            #expect(after.leader == before.leader && after.term == before.term, "\(before) -> \(after)")
            #expect(try await intruder.client.status().leader != leader.id)
            for member in members {
                let status = try await member.client.status()
                #expect(!status.members.contains { $0.id == "node4" }, "\(member.id): \(status.members)")
            }
        }
    }

    @Test("kv-node stops with status 2 and a message naming the problem for incomplete or bad TLS flags")
    func badFlagsExitTwo() async throws {
        let authority = try TestCertificateAuthority()
        try await TestCluster.with(size: 0) { cluster in
            let files = try authority.writeFiles(commonName: "solo", into: cluster.root.appendingPathComponent("tls"))
            let missing = cluster.root.appendingPathComponent("tls/missing-key.pem").path
            let cases: [(id: String, arguments: [String], message: String)] = [
                ("partial", ["--peer-cert-file", files.certificate], "give all three or none"),
                ("nokey", ["--peer-cert-file", files.certificate, "--peer-key-file", missing,
                           "--peer-trusted-ca-file", files.trustedCA], missing),
                ("notpem", ["--peer-cert-file", files.certificate, "--peer-key-file", files.key,
                            "--peer-trusted-ca-file", files.key], files.key),
            ]
            for item in cases {
                let node = try cluster.startNode(id: item.id) { _ in item.arguments }
                #expect(try await node.waitForExit() == 2, "\(item.id)")
                #expect(node.logTail().contains(item.message), "\(item.id): \(node.logTail())")
            }
        }
    }
}
