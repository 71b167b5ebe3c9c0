import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    /// Automatic compaction (Docs/API.md, "History and compaction"): the leader proposes
    /// `.compact(revision:)` in steps, so history stays near its limit on every node.
    @Suite struct HistoryCompaction {
        @Test func theLeaderCompactsByCountInStepsNotOnEveryWrite() async throws {
            var options = ClusterOptions()
            options.historyRetention = HistoryRetention(revisions: 50)
            let step: UInt64 = 5  // a tenth of the limit
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                let writes = 200
                try await cluster.write(writes, keysPrefixed: "h/", through: leader)
                try await cluster.waitUntilEveryNode(has: "h/\(writes - 1)", "value-\(writes - 1)")

                try await eventually("every node to keep at most limit + step revisions") { () async throws -> Bool? in
                    for node in cluster.runningNodes {
                        let revision = node.store.stateMachine.revision
                        let compacted = try node.store.stateMachine.compactRevision()
                        guard compacted > 0, revision - compacted <= 50 + step + 1 else {
                            throw HarnessError("\(node.id): revision \(revision), compacted through \(compacted)")
                        }
                    }
                    return true
                }
                for node in cluster.runningNodes {
                    let revision = node.store.stateMachine.revision
                    let compacted = try node.store.stateMachine.compactRevision()
                    // Never more than the limit is forgotten.
                    #expect(revision - compacted >= 50, "\(node.id): revision \(revision), compacted through \(compacted)")
                    #expect(throws: KVStoreError.compacted(compactRevision: compacted)) {
                        try node.store.stateMachine.events(after: compacted - 1, limit: 10)
                    }
                    // The span also holds compaction entries (no events), at most one per step:
                    // the last writes are all still in the history.
                    let retained = Set(try node.store.stateMachine.events(after: compacted, limit: 1000).map(\.record.key))
                    let recent = (writes - 40)..<writes
                    #expect(recent.allSatisfy { retained.contains("h/\($0)") }, "\(node.id) keeps \(retained.count) keys")
                }
                let compactions = try LogEntries.commands(in: await cluster.leader().store).filter {
                    if case .compact = $0.operation { return true }
                    return false
                }
                #expect(!compactions.isEmpty)
                #expect(compactions.count <= writes / Int(step) + 2, "\(compactions.count) compactions for \(writes) writes")
            }
        }

        /// A count limit near the largest number means "keep everything"; the leader must not
        /// trap adding its step to it on every tick.
        @Test func aCountLimitNearTheLargestNumberKeepsEverything() async throws {
            var options = ClusterOptions()
            options.historyRetention = HistoryRetention(revisions: .max)
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(30, keysPrefixed: "all/", through: leader)
                try await cluster.waitUntilEveryNode(has: "all/29", "value-29")
                for node in cluster.runningNodes {
                    #expect(try node.store.stateMachine.compactRevision() == 0, "\(node.id)")
                    let kept = Set(try node.store.stateMachine.events(after: 0, limit: 1000).map(\.record.key))
                    #expect((0..<30).allSatisfy { kept.contains("all/\($0)") }, "\(node.id) keeps \(kept.count) keys")
                }
            }
        }

        @Test func theLeaderCompactsByAgeAndLeavesAnIdleStoreAlone() async throws {
            var options = ClusterOptions()
            options.historyRetention = HistoryRetention(revisions: 0, age: .seconds(1))
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(20, keysPrefixed: "old/", through: leader)
                let last = try await leader.runtime.submit(.put("old/last", Array("x".utf8))).revision
                try await eventually("history through the writes to be compacted once they are a second old") { () async throws -> Bool? in
                    for node in cluster.runningNodes {
                        let compacted = try node.store.stateMachine.compactRevision()
                        guard compacted >= last else { throw HarnessError("\(node.id) compacted through \(compacted)") }
                    }
                    return true
                }
                // Nothing is left to forget: the compaction entries themselves are not
                // compacted again and again while the store is idle.
                let settled = try leader.store.stateMachine.compactRevision()
                let revision = leader.store.stateMachine.revision
                let start = ContinuousClock.now
                try await eventually("three age periods to pass", every: .milliseconds(100)) { () async throws -> Bool? in
                    ContinuousClock.now - start >= .seconds(3) ? true : nil
                }
                #expect(try leader.store.stateMachine.compactRevision() == settled)
                #expect(leader.store.stateMachine.revision == revision)
            }
        }
    }
}
