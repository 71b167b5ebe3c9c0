import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    /// The watch hub on real runtimes (Docs/API.md, "Watch"): what a watcher receives is
    /// exactly the node's history after its start, filtered, in order, whatever mix of
    /// window, store pages and live delivery served it.
    @Suite struct Watches {
        /// Takes deliveries until `count` events arrived or the watch ended; progress reports
        /// are kept apart. Fails the test (by deadline) rather than hang.
        static func collect(_ subscription: WatchSubscription, events count: Int,
                            within limit: Duration = .seconds(60)) async throws -> (events: [KVEvent], end: WatchEnd?) {
            try await finishing("\(count) watch events", within: limit) {
                var events: [KVEvent] = []
                while events.count < count {
                    switch await subscription.next() {
                    case .events(let batch): events += batch
                    case .progress: continue
                    case .ended(let end): return (events, end)
                    }
                }
                return (events, nil)
            }
        }

        /// What a watcher of `filter` after `revision` must get: the node's own history.
        static func expected(on node: RuntimeNode, after revision: UInt64, _ filter: WatchFilter) throws -> [KVEvent] {
            try node.store.stateMachine.events(after: revision, limit: 1_000_000).filter { filter.matches($0.key) }
        }

        /// Puts, deletes, a transaction with several events at one revision and a prefix
        /// delete, inside and outside the watched prefix.
        static func mixedWrites(_ rounds: Int, through node: RuntimeNode) async throws {
            for i in 0..<rounds {
                _ = try await node.runtime.submit(.put("w/\(i % 7)", Array("v\(i)".utf8)))
                _ = try await node.runtime.submit(.put("other/\(i)", Array("x".utf8)))
                if i % 5 == 0 {
                    let txn = TxnRequest(success: [.put(key: "w/t\(i)a", value: Array("a".utf8), lease: 0),
                                                   .put(key: "w/t\(i)b", value: Array("b".utf8), lease: 0),
                                                   .delete(key: "w/\(i % 7)")])
                    _ = try await node.runtime.submit(KVCommand(.txn(txn)))
                }
                if i % 9 == 8 {
                    _ = try await node.runtime.submit(KVCommand(.txn(TxnRequest(success: [.deletePrefix("w/t")]))))
                }
            }
            // Applied on `node` too: a plain put is answered at commit.
            await node.runtime.staleReadBarrier()
        }

        static func checkOrder(_ events: [KVEvent]) {
            for (a, b) in zip(events, events.dropFirst()) {
                #expect(a.revision <= b.revision, "out of order: \(a.revision) then \(b.revision)")
            }
        }

        @Test func aLiveWatcherOnAFollowerGetsEveryChangeOnceInOrder() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                let follower = try await cluster.followers()[0]
                let start = follower.store.stateMachine.revision
                let filter = WatchFilter.prefix("w/")
                let subscription = try follower.runtime.watchHub.subscribe(filter, after: start)
                // Read while the writes go on, so deliveries interleave with applies.
                let reader = Task {
                    try await finishing("the watcher to see w/last", within: .seconds(60)) { () async -> [KVEvent] in
                        var events: [KVEvent] = []
                        while !events.contains(where: { $0.key == "w/last" }) {
                            switch await subscription.next() {
                            case .events(let batch): events += batch
                            case .progress: continue
                            case .ended: return events
                            }
                        }
                        return events
                    }
                }
                try await Self.mixedWrites(60, through: leader)
                let last = try await leader.runtime.submit(.put("w/last", Array("end".utf8))).revision
                let received = try await reader.value
                try await eventually("the follower to apply the last write") {
                    follower.store.stateMachine.revision >= last ? true : nil
                }
                let expected = try Self.expected(on: follower, after: start, filter).filter { $0.revision <= last }
                #expect(received.count == expected.count)
                #expect(received == expected)
                Self.checkOrder(received)
                // The transactions put several events at one revision, and all of them came.
                #expect(Dictionary(grouping: received, by: \.revision).values.contains { $0.count > 1 })
            }
        }

        @Test func aWatcherStartingInThePastCatchesUpThroughStoreAndWindow() async throws {
            var options = ClusterOptions()
            // A window this small makes early starts read the store, page by page.
            options.watchLimits.windowEvents = 8
            options.watchLimits.pageEvents = 5
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                let first = leader.store.stateMachine.revision
                // Something must watch, or the hub keeps no window at all.
                let keeper = try leader.runtime.watchHub.subscribe(.prefix(""), after: first)
                try await Self.mixedWrites(40, through: leader)
                for start in [first, first + 17, first + 60, leader.store.stateMachine.revision - 3] {
                    for filter in [WatchFilter.prefix("w/"), .key("w/3"), .prefix("")] {
                        let expected = try Self.expected(on: leader, after: start, filter)
                        let subscription = try leader.runtime.watchHub.subscribe(filter, after: start)
                        let received = try await Self.collect(subscription, events: expected.count)
                        #expect(received.events == expected, "start \(start), \(filter)")
                        Self.checkOrder(received.events)
                        subscription.cancel()
                    }
                }
                keeper.cancel()
            }
        }

        @Test func aCompactedStartIsRefusedAndTheLimitOnWatchersHolds() async throws {
            var options = ClusterOptions()
            options.watchLimits.maxWatchers = 2
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                let first = leader.store.stateMachine.revision
                try await cluster.write(10, keysPrefixed: "c/", through: leader)
                let compactTo = leader.store.stateMachine.revision - 2
                _ = try await leader.runtime.submit(KVCommand(.compact(revision: compactTo)))
                let hub = leader.runtime.watchHub
                #expect(throws: WatchRefusal.compacted(compactRevision: compactTo)) {
                    _ = try hub.subscribe(.prefix("c/"), after: first)
                }
                // From the compact revision on, history is still there.
                let kept = try hub.subscribe(.prefix("c/"), after: compactTo)
                let received = try await Self.collect(kept, events: 2)
                #expect(received.events.map(\.key) == ["c/8", "c/9"])

                let second = try hub.subscribe(.key("c/1"), after: compactTo)
                #expect(throws: WatchRefusal.tooManyWatchers(limit: 2)) {
                    _ = try hub.subscribe(.key("c/2"), after: compactTo)
                }
                second.cancel()
                let third = try hub.subscribe(.key("c/2"), after: compactTo)
                #expect(hub.watcherCount == 2)
                third.cancel()
                kept.cancel()
                #expect(hub.watcherCount == 0)
            }
        }

        @Test func aWatcherThatDoesNotReadIsEndedAndAnIdleOneGetsProgress() async throws {
            var options = ClusterOptions()
            options.watchLimits.watcherEvents = 4
            options.watchLimits.progressInterval = .milliseconds(50)
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                let start = leader.store.stateMachine.revision
                let hub = leader.runtime.watchHub
                let slow = try hub.subscribe(.prefix("s/"), after: start)
                let idle = try hub.subscribe(.key("never-written"), after: start)
                try await cluster.write(12, keysPrefixed: "s/", through: leader)
                let end = try await finishing("the slow watcher to end", within: .seconds(30)) { () async -> WatchEnd? in
                    while true {
                        if case .ended(let end) = await slow.next() { return end }
                    }
                }
                #expect(end == .overrun)
                // The idle watcher hears that it has seen everything up to the writes.
                let written = leader.store.stateMachine.revision
                let seen = try await finishing("progress past the writes", within: .seconds(30)) { () async -> UInt64? in
                    while true {
                        switch await idle.next() {
                        case .progress(let revision) where revision >= written: return revision
                        case .ended: return nil
                        default: continue
                        }
                    }
                }
                #expect(seen != nil)
                // Stopping the node ends the watches it serves.
                let waiting = Task { await idle.next() }
                try await cluster.crash(leader.id)
                let last = try await finishing("the watch to end at stop", within: .seconds(30)) { () async -> WatchDelivery in
                    var delivery = await waiting.value
                    while case .progress = delivery { delivery = await idle.next() }
                    return delivery
                }
                #expect(last == .ended(.closed))
            }
        }

        /// A follower that was down while the leader compacted its log comes back through a
        /// snapshot install; a watcher started on it before the install gets the history the
        /// snapshot carries, with no gap across it.
        @Test func aSnapshotInstallUnderAWatcherLeavesNoGap() async throws {
            var options = ClusterOptions()
            options.snapshotEveryEntries = 20
            options.entriesRetainedAfterSnapshot = 5
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                try await cluster.write(5, keysPrefixed: "before/", through: leader)
                let follower = try await cluster.followers()[0]
                try await cluster.waitUntilEveryNode(has: "before/4", "value-4")
                try await cluster.crash(follower.id)
                let current = try await cluster.leader()
                try await cluster.write(80, keysPrefixed: "snap/", through: current)
                try await eventually("the leader to compact its log past the follower") { () async throws -> Bool? in
                    try await cluster.leader().runtime.status().firstIndex > follower.store.stateMachine.revision + 1 ? true : nil
                }
                let restarted = try await cluster.restart(follower.id)
                let start = restarted.store.stateMachine.revision
                let filter = WatchFilter.prefix("snap/")
                let subscription = try restarted.runtime.watchHub.subscribe(filter, after: start)
                try await cluster.waitUntilEveryNode(has: "snap/79", "value-79")
                #expect(restarted.store.log.snapshotMetadata().index > start, "the follower caught up through a snapshot")
                let expected = try Self.expected(on: try await cluster.leader(), after: start, filter)
                #expect(expected.count == 80)
                let received = try await Self.collect(subscription, events: expected.count)
                #expect(received.end == nil)
                #expect(received.events == expected)
            }
        }
    }
}
