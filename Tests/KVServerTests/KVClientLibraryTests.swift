import Foundation
import KVClient
import Testing

/// The client library (Sources/KVClient) against real kv-node processes: the calls map onto
/// the API, failover is invisible to the caller, a retried write applies once, and a watch
/// survives the death of the node serving it.
@Suite("KVClient library", .serialized)
struct KVClientLibraryTests {
    @Test("keys, listing pages, conditional writes, transactions and history reads; a dead first endpoint is skipped")
    func keysPagingConditionsAndTransactions() async throws {
        try await TestCluster.with(size: 3) { cluster in
            _ = try await cluster.leader()
            // Nothing listens on this port: every call must fail over past it.
            let dead = "127.0.0.1:\(PortAllocator.ports(1)[0])"
            try await Self.withClient([dead] + cluster.nodes.map(\.apiAddress)) { client in
                let keys = ["lib/a", "lib/b", "lib/sp ace&=%+#é", "lib/c/d", "lib/z"]
                var revisions: [String: UInt64] = [:]
                for key in keys { revisions[key] = try await client.put(key, "value of \(key)").revision }
                for key in keys {
                    let kv = try #require(try await client.get(key))
                    #expect(kv == KeyValue(key: key, value: "value of \(key)", revision: revisions[key] ?? 0,
                                           createRevision: revisions[key] ?? 0, version: 1))
                }
                #expect(try await client.get("lib/missing") == nil)

                // Pages of two: every key once, in byte order, across several pages.
                var listed: [String] = []
                var startAfter: String?
                var pages = 0
                repeat {
                    let page = try await client.list(prefix: "lib/", limit: 2, startAfter: startAfter)
                    listed += page.pairs.map(\.key)
                    #expect(page.pairs.allSatisfy { $0.value == "value of \($0.key)" })
                    startAfter = page.nextStartAfter
                    pages += 1
                } while startAfter != nil && pages < 10
                #expect(listed == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                #expect(pages == 3)
                #expect(try await client.listAll(prefix: "lib/", pageSize: 2).map(\.key) == listed)

                // Conditional writes: a wrong revision is a typed 412 carrying the current one.
                let current = revisions["lib/a"] ?? 0
                do {
                    try await client.put("lib/a", "lost", ifRevision: current + 1)
                    Issue.record("a put with a stale revision was applied")
                } catch KVClientError.preconditionFailed(let key, let revision) {
                    #expect(key == "lib/a")
                    #expect(revision == current)
                }
                await #expect(throws: KVClientError.self) { try await client.put("lib/a", "exists", ifRevision: 0) }
                let swapped = try await client.put("lib/a", "swapped", ifRevision: current)
                #expect(try await client.get("lib/a")?.version == 2)
                #expect(try await client.get("lib/a", revision: current)?.value == "value of lib/a")
                #expect(try await client.get("lib/a", revision: current, consistency: .stale)?.value == "value of lib/a")

                // A transaction: typed comparisons in, typed results out, both branches.
                let txn = Txn(compare: [.value("lib/a", .equal, "swapped"), .version("lib/new", .equal, 0)],
                              success: [.put("lib/new", "made"), .get("lib/new"), .delete("lib/b")],
                              failure: [.get("lib/a")])
                let done = try await client.txn(txn)
                #expect(done.succeeded)
                #expect(done.results.count == 3)
                #expect(done.results.first == .put(key: "lib/new", revision: done.revision))
                #expect(done.results.dropFirst().first == .get(key: "lib/new", KeyValue(
                    key: "lib/new", value: "made", revision: done.revision, createRevision: done.revision, version: 1)))
                #expect(done.results.last == .delete(key: "lib/b", deleted: 1))
                let again = try await client.txn(txn)
                #expect(!again.succeeded)
                #expect(again.results == [.get(key: "lib/a", KeyValue(key: "lib/a", value: "swapped", revision: swapped.revision,
                                                                       createRevision: current, version: 2))])

                // Deletes, one key and a prefix.
                #expect(try await client.delete("lib/z").deleted)
                #expect(try await !client.delete("lib/z").deleted)
                let removed = try await client.deletePrefix("lib/")
                #expect(removed.deleted == 4)  // a, sp ace, c/d, new
                #expect(try await client.list(prefix: "lib/").pairs.isEmpty)

                // Compaction makes older revisions a typed 410.
                try await client.compact(revision: swapped.revision)
                do {
                    _ = try await client.get("lib/a", revision: current)
                    Issue.record("a read below the compacted history was answered")
                } catch KVClientError.compacted(let compactRevision) {
                    #expect(compactRevision == swapped.revision)
                }
            }
        }
    }

    @Test("the leader killed -9 in the middle of a stream of writes: every write applies once, and a watch served by it resumes with no gap and no duplicate")
    func failoverAppliesOnceAndWatchResumes() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            // The doomed leader first, so it serves both the writes and the watch.
            let endpoints = [leader.apiAddress] + cluster.followers(of: leader).map(\.apiAddress)
            try await Self.withClient(endpoints) { writer in
                try await Self.withClient(endpoints) { watcher in
                    let start = try await writer.put("fo/start", "x").revision
                    let count = 40
                    try await withThrowingTaskGroup(of: [WatchMessage].self) { group in
                        group.addTask {
                            try await Self.collect(watcher.watch(.prefix("fo/k"), startRevision: start), keys: count)
                        }
                        for index in 0..<count {
                            if index == 10 {
                                // Killed while a write is on its way, so its answer may be lost.
                                async let write = writer.put("fo/k\(index)", "v\(index)")
                                try await leader.kill9()
                                _ = try await write
                            } else {
                                try await writer.put("fo/k\(index)", "v\(index)")
                            }
                        }
                        let messages = try #require(try await group.next())
                        let events = messages.flatMap(\.events)
                        // One event per write: no write applied twice, none missed or repeated.
                        #expect(events.count == count)
                        #expect(Set(events.map(\.key)).count == count)
                        #expect(zip(events, events.dropFirst()).allSatisfy { $0.revision < $1.revision })
                        for index in 0..<count {
                            let kv = try #require(try await writer.get("fo/k\(index)"))
                            #expect(kv.value == "v\(index)")
                            #expect(kv.version == 1, "fo/k\(index) was written \(kv.version) times")
                            #expect(events.first { $0.key == kv.key }?.revision == kv.revision)
                        }
                    }
                }
            }
        }
    }

    @Test("a lease kept alive by the background helper outlives its TTL; once cancelled, the key goes with the lease")
    func leaseKeepAlive() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            try await Self.withClient([node.apiAddress]) { client in
                let ttl: UInt64 = 2
                let lease = try await client.grantLease(ttlSeconds: ttl)
                let granted = ContinuousClock.now
                try await client.put("leased", "alive", lease: lease.id)
                let renewals = Renewals()
                let keeper = Task { try await client.keepLeaseAlive(lease.id) { _ in renewals.add() } }
                // Wait until the lease has lived three of its TTLs, kept alive all along.
                try await eventually("the lease to be renewed past three TTLs", timeout: .seconds(60)) {
                    ContinuousClock.now - granted > .seconds(3 * ttl) && renewals.count >= 4 ? true : nil
                }
                #expect(try await client.get("leased")?.lease == lease.id)
                let info = try await client.leaseTimeToLive(lease.id)
                #expect(info.keys == ["leased"])
                keeper.cancel()
                _ = await keeper.result
                try await eventually("the key to go with its lease", timeout: .seconds(30)) {
                    try await client.get("leased") == nil ? true : nil
                }
                await #expect(throws: KVClientError.self) { try await client.keepAliveOnce(lease.id) }
            }
        }
    }

    /// Runs `body` with a client of `endpoints`, shut down after, also when `body` throws.
    static func withClient(_ endpoints: [String], _ body: (KVClient) async throws -> Void) async throws {
        let client = try KVClient(endpoints: endpoints)
        do {
            try await body(client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The messages of `stream` until their events named `keys` distinct keys, within a
    /// generous deadline. (Messages, not events: the tests' own `WatchEvent` shadows the library's.)
    static func collect(_ stream: WatchStream, keys: Int) async throws -> [WatchMessage] {
        try await withThrowingTaskGroup(of: [WatchMessage]?.self) { group in
            group.addTask {
                var messages: [WatchMessage] = []
                var seen: Set<String> = []
                for try await message in stream {
                    messages.append(message)
                    seen.formUnion(message.events.map(\.key))
                    if seen.count >= keys { return messages }
                }
                return messages
            }
            group.addTask {
                try await Task.sleep(for: .seconds(90))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let messages = first else {
                throw NotYet("the watch did not deliver \(keys) keys within 90 s")
            }
            return messages
        }
    }
}

/// Counts keep-alive answers across tasks.
private final class Renewals: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
