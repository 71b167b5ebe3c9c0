import Foundation
import HTTPTestSupport
import Testing

/// Leases through real nodes (Docs/API.md, "Leases"): only the leader keeps time, a new
/// leader gives every lease its full TTL again, so a holder that keeps sending keepalives
/// never loses its keys to a failover, while a lease nobody renews expires within its TTL
/// plus one election timeout and its keys' delete events say `"expired":true`.
@Suite("Leases")
struct LeaseFailoverTests {
    /// `TestCluster.timingArguments`: 10 ms ticks, elections after 30 to 60 ticks.
    static let longestElectionTimeout = Duration.milliseconds(600)
    /// Slack for a loaded 2-core machine on top of the bound the contract states: the
    /// revocation's commit, a follower's apply and the event's delivery all happen after
    /// the deadline itself.
    static let margin = Duration.seconds(3)

    @Test("a lease kept alive through a follower survives kill -9 of the leader: after the new leader ran for twice the TTL its key is still there")
    func keptAliveAcrossFailover() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let oldTerm = try await leader.client.status().term
            let followers = cluster.followers(of: leader)
            try #require(followers.count == 2)
            let holder = followers[0].client
            let ttl = 3

            let granted = try await holder.untilAnswered("POST /lease") { _ in try await holder.grantLease(ttlSeconds: ttl) }
            try #require(granted.status == 200, "\(granted)")
            let id = try #require(granted.object?["id"] as? String, "\(granted)")
            #expect(granted.int("ttl_seconds") == ttl, "\(granted)")
            let before = try await holder.putAcknowledged("lk/other", "no lease")
            let attached = try await holder.put("lk/held", "mine", headers: [:], query: "lease=\(id)")
            try #require(attached.status == 200, "\(attached)")
            let watcher = try await WatchFollower.start(followers[1].client.watchURL("prefix=lk/&start_revision=\(before)"))
            defer { watcher.stop() }
            let seen = try await watcher.wait(for: "the put of lk/held") { $0.contains { $0.key == "lk/held" } }
            #expect(seen.first { $0.key == "lk/held" }?.lease == id, "the put event names its lease: \(seen)")

            let keeper = KeepAliveLoop.start(holder, id: id, every: .milliseconds(200))
            defer { keeper.cancel() }
            try await keeper.wait(forSuccessAfter: .now)
            try await leader.kill9()
            let newLeader = try await cluster.leader(among: followers, newerThan: oldTerm)
            let electedSeen = ContinuousClock.now
            // Time must pass on the new leader; the condition is that keepalives kept being
            // acknowledged for longer than twice the TTL after it took over.
            try await keeper.wait(forSuccessAfter: electedSeen + .seconds(2 * ttl), timeout: .seconds(60))
            let record = try await keeper.stop()
            #expect(record.notFound.isEmpty, "a keepalive found the lease gone: \(record.notFound)")

            for node in followers {
                let lease = try await node.client.lease(id)
                #expect(lease.status == 200, "\(node.id): \(lease)")
                #expect(lease.object?["keys"] as? [String] == ["lk/held"], "\(node.id): \(lease)")
                let key = try await node.client.linearizableGet("lk/held")
                #expect(key.status == 200 && key.object?["lease"] as? String == id, "\(node.id) (leader \(newLeader.id)): \(key)")
            }
            #expect(!watcher.events.contains { $0.kind == "delete" }, "no key was deleted: \(watcher.events)")
        }
    }

    @Test("a lease left alone expires within TTL plus one election timeout of its last keepalive; a watcher sees its keys' deletes with expired:true in one revision")
    func leftAloneExpires() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let followers = cluster.followers(of: leader)
            try #require(followers.count == 2)
            let client = followers[0].client
            let ttl = 3

            let granted = try await client.untilAnswered("POST /lease") { _ in try await client.grantLease(ttlSeconds: ttl) }
            try #require(granted.status == 200, "\(granted)")
            let id = try #require(granted.object?["id"] as? String, "\(granted)")
            let before = try await client.putAcknowledged("le/unleased", "stays")
            for key in ["le/a", "le/b"] {
                let reply = try await client.put(key, key, headers: [:], query: "lease=\(id)")
                try #require(reply.status == 200, "\(reply)")
            }
            let watcher = try await WatchFollower.start(followers[1].client.watchURL("prefix=le/&start_revision=\(before)"))
            defer { watcher.stop() }
            try await watcher.wait(for: "both leased puts") { $0.count >= 2 }

            let keepAliveSent = ContinuousClock.now
            let renewed = try await client.keepAlive(id)
            try #require(renewed.status == 200, "\(renewed)")
            #expect(renewed.object?["id"] as? String == id && renewed.int("ttl_seconds") == ttl, "\(renewed)")
            let deletes = try await watcher.wait(for: "both leased keys to be deleted") {
                $0.filter { $0.kind == "delete" }.count >= 2
            }.filter { $0.kind == "delete" }
            let observed = ContinuousClock.now - keepAliveSent
            let bound = Duration.seconds(ttl) + Self.longestElectionTimeout + Self.margin
            #expect(observed <= bound, "expiry seen \(observed) after the last keepalive; the contract allows TTL + one election timeout (+ \(Self.margin) slack)")

            #expect(Set(deletes.map(\.key)) == ["le/a", "le/b"], "\(deletes)")
            #expect(deletes.allSatisfy { $0.expired && $0.value.isEmpty && $0.version == 0 && $0.createRevision == 0 }, "\(deletes)")
            #expect(Set(deletes.map(\.revision)).count == 1, "one revocation, one revision: \(deletes)")
            // Only the last event of a revision carries its id, so a resume never splits it.
            #expect(deletes.map(\.id) == [nil, deletes.last.map { "\($0.revision)" }], "\(deletes)")

            let gone = try await client.lease(id)
            #expect(gone.status == 404 && gone.object?["error"] as? String == "lease not found: \(id)", "\(gone)")
            #expect(try await client.linearizableGet("le/a").status == 404)
            #expect(try await client.linearizableGet("le/unleased").status == 200, "a key without the lease stays")
            let lateKeepAlive = try await client.keepAlive(id)
            #expect(lateKeepAlive.status == 404, "\(lateKeepAlive)")
        }
    }

    @Test("DELETE /lease/{id} deletes its keys in one revision; their delete events are not marked expired")
    func revoke() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let follower = try #require(cluster.followers(of: leader).first).client
            let granted = try await follower.untilAnswered("POST /lease") { _ in try await follower.grantLease(ttlSeconds: 60) }
            let id = try #require(granted.object?["id"] as? String, "\(granted)")
            let before = try await follower.putAcknowledged("rv/unleased", "stays")
            for key in ["rv/a", "rv/b", "rv/c"] {
                let reply = try await follower.put(key, "x", headers: [:], query: "lease=\(id)")
                try #require(reply.status == 200, "\(reply)")
            }
            let listed = try await leader.client.lease(id)
            #expect((listed.object?["keys"] as? [String]).map(Set.init) == ["rv/a", "rv/b", "rv/c"], "\(listed)")
            let watcher = try await WatchFollower.start(leader.client.watchURL("prefix=rv/&start_revision=\(before)"))
            defer { watcher.stop() }

            let revoked = try await HTTP.send("DELETE", "\(follower.base)/lease/\(id)")
            #expect(revoked.status == 200 && revoked.int("deleted") == 3, "\(revoked)")
            let deletes = try await watcher.wait(for: "three deletes") { $0.filter { $0.kind == "delete" }.count >= 3 }
                .filter { $0.kind == "delete" }
            #expect(Set(deletes.map(\.revision)) == Set([revoked.int("revision") ?? -1]), "\(deletes) vs \(revoked)")
            #expect(deletes.allSatisfy { !$0.expired }, "a revocation is not an expiry: \(deletes)")
            let unknown = try await follower.keepAlive(id)
            #expect(unknown.status == 404, "\(unknown)")
            let attachGone = try await follower.put("rv/late", "x", headers: [:], query: "lease=\(id)")
            #expect(attachGone.status == 404, "\(attachGone)")
        }
    }
}
