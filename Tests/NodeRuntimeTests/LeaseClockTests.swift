import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    /// Leases on the runtime's clock (Docs/API.md, "Leases"): only the leader acts on a
    /// deadline, by proposing the revocation once; a keepalive or a new leader restarts it.
    @Suite struct Leases {
        @Test func aLeaseLeftAloneIsRevokedOnceByTheLeaderAndItsKeysAreDeletedWithExpiredEvents() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                let follower = try #require(try await cluster.followers().first)
                // Granted through a follower: the grant is forwarded, and applies everywhere.
                let id = try await Self.grant(ttlSeconds: 1, through: follower)
                let before = try await leader.runtime.submit(.put("unleased", Array("stays".utf8))).revision
                _ = try await leader.runtime.submit(KVCommand(.txn(TxnRequest(compare: [], success: [
                    .put(key: "held/a", value: Array("a".utf8), lease: id),
                    .put(key: "held/b", value: Array("b".utf8), lease: id),
                ], failure: []))))

                try await eventually("the lease to be revoked on every node") { () async throws -> Bool? in
                    for node in cluster.runningNodes where try node.store.stateMachine.lease(id) != nil {
                        throw HarnessError("\(node.id) still holds lease \(id)")
                    }
                    return true
                }
                try await cluster.waitUntilEveryNode(has: "held/a", nil)
                try await cluster.waitUntilEveryNode(has: "held/b", nil)
                try await cluster.waitUntilEveryNode(has: "unleased", "stays")

                for node in cluster.runningNodes {
                    let deletes = try node.store.stateMachine.events(after: before, limit: 100).filter { $0.kind == .delete }
                    #expect(deletes.map(\.record.key).sorted() == ["held/a", "held/b"], "\(node.id)")
                    #expect(deletes.allSatisfy { $0.expired }, "\(node.id): \(deletes)")
                    #expect(Set(deletes.map(\.revision)).count == 1, "one revision for the whole revocation")
                }
                // Proposed once: exactly one revocation entry reached the log.
                let revocations = try LogEntries.commands(in: await cluster.leader().store).filter {
                    if case .leaseRevoke(id, expired: true) = $0.operation { return true }
                    return false
                }
                #expect(revocations.count == 1)
            }
        }

        @Test func keepalivesKeepALeaseBeyondItsTTLAndItExpiresOnceTheyStop() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let follower = try #require(try await cluster.followers().first)
                let ttl: Int64 = 2
                let id = try await Self.grant(ttlSeconds: ttl, through: follower)
                let granted = ContinuousClock.now
                // Keepalives through a follower for three TTLs: the lease must outlive them all.
                while ContinuousClock.now - granted < .seconds(3 * ttl) {
                    let result = try await follower.runtime.submit(KVCommand(.leaseKeepAlive(id: id)))
                    #expect(result.detail == .lease(id: id, ttlSeconds: ttl))
                    for node in cluster.runningNodes {
                        #expect(try node.store.stateMachine.lease(id) != nil, "\(node.id) lost the lease while it was kept alive")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let leader = try await cluster.leader()
                let remaining = try #require(await leader.runtime.leaseRemaining([id]).first ?? nil)
                #expect(remaining > .zero && remaining <= .seconds(ttl))

                try await eventually("the lease to expire once nobody keeps it alive") { () async throws -> Bool? in
                    try leader.store.stateMachine.lease(id) == nil ? true : nil
                }
                await #expect(throws: RuntimeError.notFound("lease not found: \(id)")) {
                    try await follower.runtime.submit(KVCommand(.leaseKeepAlive(id: id)))
                }
            }
        }

        @Test func aNewLeaderGivesEveryLeaseItsFullTTLAgain() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let oldLeader = try await cluster.leader()
                let ttl: Int64 = 6
                let id = try await Self.grant(ttlSeconds: ttl, through: oldLeader)
                // Let half the TTL run out on the old leader's clock.
                try await eventually("half the TTL to pass on the leader", timeout: .seconds(60)) { () async throws -> Bool? in
                    // No timer yet right after the grant: its answer may come before the runtime hears of it.
                    guard let left = await oldLeader.runtime.leaseRemaining([id]).first ?? nil else { return nil }
                    return left <= .seconds(ttl / 2) ? true : nil
                }
                try await cluster.crash(oldLeader.id)
                let newLeader = try await cluster.leader()
                let left = try #require(await newLeader.runtime.leaseRemaining([id]).first ?? nil)
                // The old clock had at most half left; the new leader starts from the full TTL.
                #expect(left > .seconds(ttl / 2), "remaining \(left) on the new leader")
                #expect(try newLeader.store.stateMachine.lease(id) != nil)
                // And it still expires under the new leader.
                try await eventually("the lease to expire under the new leader") { () async throws -> Bool? in
                    try newLeader.store.stateMachine.lease(id) == nil ? true : nil
                }
            }
        }

        static func grant(ttlSeconds: Int64, through node: RuntimeNode) async throws -> UInt64 {
            let result = try await node.runtime.submit(KVCommand(.leaseGrant(ttlSeconds: ttlSeconds)))
            guard case .lease(let id, let ttl) = result.detail, ttl == ttlSeconds else {
                throw HarnessError("a grant answered \(result)")
            }
            return id
        }
    }
}

/// The commands a store's log still holds, in order.
enum LogEntries {
    static func commands(in store: DurableStore) throws -> [KVCommand] {
        var commands: [KVCommand] = []
        var next = store.log.firstIndex()
        let end = store.log.lastIndex() + 1
        while next < end {
            let batch = try store.log.entries(from: next, to: end, maxBytes: 1 << 20)
            for entry in batch where entry.kind == .normal && !entry.data.isEmpty {
                if let command = try? KVCommand(decoding: entry.data) { commands.append(command) }
            }
            next += UInt64(batch.count)
        }
        return commands
    }
}
