import ClusterAPI
import Foundation
import HTTPTestSupport
import Testing

/// Real kv-node processes attacked on their Raft port by a raw TCP peer that speaks the wire
/// format by hand. After each attack the attacked nodes must still run and answer, and the
/// cluster must still take a write and serve it back with a linearizable read.
///
/// Until the handshake authenticates peers, anyone who knows the cluster id ("kv") can claim
/// any sender id, a member's included; these tests are what such a peer can do.
@Suite("Hostile peers", .serialized)
struct HostilePeerTests {
    /// Every running node answers /health, and a write through the leader reads back
    /// linearizably through `reader` (the leader when nil).
    private func clusterServes(_ cluster: TestCluster, key: String, via reader: NodeProcess? = nil) async throws {
        for node in cluster.nodes {
            #expect(node.isRunning, "\(node.id) exited")
            let health = try await eventually("\(node.id) /health") { () -> Int? in
                let reply = try await HTTP.send("GET", "http://\(node.apiAddress)/health", timeout: .seconds(5))
                return reply.status == 200 ? reply.status : nil
            }
            #expect(health == 200)
        }
        let leader = try await cluster.leader()
        let value = UUID().uuidString
        try await leader.client.putAcknowledged(key, value)
        let reply = try await (reader ?? leader).client.linearizableGet(key)
        #expect(reply.status == 200 && reply.object?["value"] as? String == value, "\(key) via \((reader ?? leader).id): \(reply)")
    }

    /// Waits until `node`'s /metrics shows at least one message dropped for `reason`: the
    /// forged message arrived and Raft refused it (rather than it still being in flight).
    private func awaitDropped(_ reason: String, on node: NodeProcess) async throws {
        let series = "kv_raft_messages_dropped_total{reason=\"\(reason)\"} "
        _ = try await eventually("\(node.id) counts a message dropped as \(reason)") { () -> Bool? in
            let reply = try await HTTP.send("GET", "http://\(node.apiAddress)/metrics", timeout: .seconds(5))
            guard let line = reply.text.split(separator: "\n").first(where: { $0.hasPrefix(series) }),
                  let count = UInt64(line.dropFirst(series.count)) else { return nil }
            return count > 0 ? true : nil
        }
    }

    @Test("(a) 50 unauthenticated connections each sending most of a 16 MiB frame do not grow the node's memory")
    func oversizedFramesBeforeTheHandshake() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let target = try await cluster.leader()
            let pid = try #require(target.pid)
            let baseline = try #require(residentBytes(of: pid))
            let length = UInt32(16 * 1024 * 1024)
            var frame = RaftWire()
            frame.u32(length)
            frame.u8(0x01)
            // One byte short of complete: the old decoder held every such frame in full.
            let bytes = frame.bytes + [UInt8](repeating: 0x41, count: Int(length) - 2)
            var attackers: [RawRaftPeer] = []
            for _ in 0..<50 {
                let attacker = try RawRaftPeer(port: target.raftPort)
                try await attacker.send(bytes, timeout: .seconds(60))
                attackers.append(attacker)
            }
            let peak = try #require(residentBytes(of: pid, field: "VmHWM"))
            #expect(peak - baseline < 100 * 1024 * 1024,
                    "\(target.id) grew from \(baseline >> 20) MiB to a peak of \(peak >> 20) MiB")
            attackers.removeAll()
            try await clusterServes(cluster, key: "after-oversized")
        }
    }

    @Test("(b) a forged append response with index UInt64.max, as a member, to the leader")
    func forgedAppendResponseToTheLeader() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let status = try await leader.client.status()
            let member = try #require(cluster.followers(of: leader).first)
            let forger = try await RawRaftPeer.member(port: leader.raftPort, claiming: member.id)
            try await forger.send(RaftWire.appendResponse(from: member.id, to: leader.id, term: status.term,
                                                          success: true, index: .max))
            try await clusterServes(cluster, key: "after-forged-response")
            for node in cluster.nodes {
                let after = try await node.client.status()
                #expect(after.commitIndex <= after.lastIndex, "\(node.id) commits past its log: \(after.commitIndex) > \(after.lastIndex)")
            }
        }
    }

    @Test("(c) appends with jumping and conflicting indexes at or below the commit index, as the leader, to a follower")
    func forgedAppendsToAFollower() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let follower = try #require(cluster.followers(of: leader).first)
            for i in 0..<5 { try await leader.client.putAcknowledged("before-\(i)", "v\(i)") }
            let status = try await eventually("\(follower.id) applies the writes") { () -> NodeStatus? in
                let status = try await follower.client.status()
                return status.appliedIndex >= 6 ? status : nil
            }
            let commit = status.commitIndex
            let forger = try await RawRaftPeer.member(port: follower.raftPort, claiming: leader.id)
            // Indexes that skip and go backwards after the follower's last entry.
            try await forger.send(RaftWire.append(
                from: leader.id, to: follower.id, term: status.term, prevLogIndex: status.lastIndex, prevLogTerm: status.term,
                leaderCommit: commit, entries: [.init(term: status.term, index: status.lastIndex + 5),
                                                .init(term: status.term, index: status.lastIndex + 3)]))
            // Entries of the current term from index 1 on, overwriting committed ones.
            try await forger.send(RaftWire.append(
                from: leader.id, to: follower.id, term: status.term, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: commit,
                entries: (1...commit).map { .init(term: status.term, index: $0) }))
            try await clusterServes(cluster, key: "after-forged-appends", via: follower)
            for i in 0..<5 {
                let reply = try await follower.client.linearizableGet("before-\(i)")
                #expect(reply.object?["value"] as? String == "v\(i)", "before-\(i) on \(follower.id): \(reply)")
            }
        }
    }

    @Test("(d) a vote request with term UInt64.max from a non-member, to every node; a restarted node still starts")
    func maximalTermFromANonMember() async throws {
        try await TestCluster.with(size: 3) { cluster in
            _ = try await cluster.leader()
            var forgers: [RawRaftPeer] = []
            for node in cluster.nodes {
                let forger = try await RawRaftPeer.member(port: node.raftPort, claiming: "evil")
                try await forger.send(RaftWire.vote(from: "evil", to: node.id, term: .max))
                forgers.append(forger)
            }
            for node in cluster.nodes { try await awaitDropped("unknown_sender", on: node) }
            try await clusterServes(cluster, key: "after-max-term")
            let restarted = cluster.nodes[2]
            try await restarted.kill9()
            try restarted.start()
            try await clusterServes(cluster, key: "after-restart", via: restarted)
            let status = try await restarted.client.status()
            #expect(status.term < .max)
        }
    }

    @Test("(e) a leadership-transfer vote request with a huge term from a non-member leaves the leader in place")
    func transferVoteFromANonMember() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let before = try await leader.client.status()
            var forgers: [RawRaftPeer] = []
            for node in cluster.nodes {
                let forger = try await RawRaftPeer.member(port: node.raftPort, claiming: "evil")
                try await forger.send(RaftWire.vote(from: "evil", to: node.id, term: before.term + 1_000_000,
                                                    leadershipTransfer: true))
                forgers.append(forger)
            }
            for node in cluster.nodes { try await awaitDropped("unknown_sender", on: node) }
            try await clusterServes(cluster, key: "after-transfer-vote")
            for node in cluster.nodes {
                let after = try await node.client.status()
                #expect(after.leader == before.id && after.term == before.term,
                        "\(node.id) now sees leader \(after.leader ?? "-") at term \(after.term); before: \(before.id) at \(before.term)")
            }
        }
    }
}
