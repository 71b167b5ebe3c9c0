import Foundation
import HTTPTestSupport
import KVClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

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
                defer { keeper.cancel() }
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

    @Test("a write whose connection breaks before its answer, or whose answer breaks off after its head, is sent again with the same Idempotency-Key and applies once")
    func idempotentRetryRepeatsTheKey() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let replies: [(String, FakeEndpoint.Reply)] = [
                ("closed", .closeWithoutAnswer),
                ("broken-body", .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\nConnection: close\r\n\r\n{\"key\"")),
            ]
            for (name, reply) in replies {
                try await FakeEndpoint.with(reply) { fake in
                    try await Self.withClient([fake.address, node.apiAddress]) { client in
                        let key = "idem/\(name)"
                        let written = try await client.put(key, "v")
                        let sentToFake = try #require(fake.requests.first?.header("Idempotency-Key"), "the fake saw no write")
                        #expect(fake.requests.count == 1)
                        // Replayed by hand with that key, the write is answered from the node's
                        // record, at its first revision: the client's retry carried the same key.
                        let replay = try await node.client.put(key, "v", idempotencyKey: sentToFake)
                        #expect(replay.status == 200, "\(replay)")
                        #expect(replay.object?["revision"] as? Int == Int(written.revision))
                        let kv = try #require(try await client.get(key))
                        #expect(kv.version == 1, "\(key) was written \(kv.version) times")
                        #expect(kv.revision == written.revision)
                    }
                }
            }
        }
    }

    @Test("a request without an Idempotency-Key goes to another node only when it was never sent: not after a lost answer or a 503")
    func unrepeatableRequestIsNotResent() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let unavailable = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                + "Content-Length: 22\r\nConnection: close\r\n\r\n{\"error\":\"no leader\"}"
            for reply in [FakeEndpoint.Reply.closeWithoutAnswer, .send(unavailable)] {
                try await FakeEndpoint.with(reply) { fake in
                    try await Self.withClient([fake.address, node.apiAddress]) { client in
                        do {
                            let grant = try await client.grantLease(ttlSeconds: 30)
                            Issue.record("a lease grant was sent on after \(reply): \(grant)")
                        } catch KVClientError.answerLost, KVClientError.unavailable {
                            // Reported, not repeated.
                        }
                        #expect(fake.requests.count == 1)
                        #expect(try await client.leases().isEmpty, "the grant reached the node too")
                    }
                }
            }
            // A port where nothing listens: the connection fails, the request never left, so
            // the next endpoint gets it.
            let dead = "127.0.0.1:\(PortAllocator.ports(1)[0])"
            try await Self.withClient([dead, node.apiAddress]) { client in
                let grant = try await client.grantLease(ttlSeconds: 30)
                #expect(try await client.leases().map(\.id) == [grant.id])
            }
        }
    }

    @Test("a watch whose node sends a head and then nothing resumes on the next endpoint once the stream has been silent too long")
    func silentWatchResumesElsewhere() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            try await FakeEndpoint.with(.sendAndHold(head)) { fake in
                let configuration = try KVClientConfiguration(endpoints: [fake.address, node.apiAddress], streamIdleTimeout: .seconds(1))
                try await Self.withClient(configuration) { client in
                    // Written through the node alone, so the watch is the fake's first request.
                    let (start, written) = try await Self.withClient([node.apiAddress]) { writer in
                        (try await writer.put("silent/start", "x").revision, try await writer.put("silent/k", "v").revision)
                    }
                    let messages = try await Self.collect(client.watch(.prefix("silent/k"), startRevision: start), keys: 1)
                    #expect(messages.flatMap(\.events).map(\.revision) == [written])
                    #expect(fake.requests.contains { $0.head.hasPrefix("GET /watch") })
                }
            }
        }
    }

    @Test("a lock whose lease cannot be renewed within its TTL is given up: the body is cancelled and the loss thrown")
    func lockLostWhenLeaseCannotBeRenewed() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let pid = try #require(node.pid)
            defer { node.signal(SIGCONT) }
            let configuration = try KVClientConfiguration(endpoints: [node.apiAddress], requestTimeout: .seconds(2), retryBudget: .seconds(5))
            try await Self.withClient(configuration) { client in
                let outcome = try await Self.within(.seconds(90)) {
                    do {
                        try await client.withLock("lost-lock", ttlSeconds: 2) { _ in
                            kill(pid, SIGSTOP)  // nothing answers any more: no renewal can succeed
                            while true { try await Task.sleep(for: .seconds(1)) }
                        }
                        return "the body returned"
                    } catch KVClientError.leaseLost {
                        return "lost"
                    } catch {
                        return "\(error)"
                    }
                }
                #expect(outcome == "lost")
            }
        }
    }

    /// Runs `body` with a client of `endpoints`, shut down after, also when `body` throws.
    static func withClient<T>(_ endpoints: [String], _ body: (KVClient) async throws -> T) async throws -> T {
        try await withClient(try KVClientConfiguration(endpoints: endpoints), body)
    }

    static func withClient<T>(_ configuration: KVClientConfiguration, _ body: (KVClient) async throws -> T) async throws -> T {
        let client = try KVClient(configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// `body`'s value, or a failure once `timeout` passes (then `body` is cancelled).
    static func within<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw NotYet("nothing within \(timeout)") }
            return value
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

/// A stand-in for a node on 127.0.0.1, for the failures a real node does not show on cue: it
/// reads each request whole, records it, and answers as told (not at all, a canned answer, or a
/// head and then silence). `with` stops it, closing every socket, also when the test fails.
final class FakeEndpoint: @unchecked Sendable {
    enum Reply: Sendable, CustomStringConvertible {
        /// Close the connection once the request has arrived.
        case closeWithoutAnswer
        /// Send these bytes, then close.
        case send(String)
        /// Send these bytes and keep the connection open, silent, until the fake stops.
        case sendAndHold(String)

        var description: String {
            switch self {
            case .closeWithoutAnswer: "a connection closed without an answer"
            case .send(let text), .sendAndHold(let text): String(text.prefix(40))
            }
        }
    }

    /// One request as it arrived: its head (request line and headers).
    struct Request: Sendable {
        var head: String

        func header(_ name: String) -> String? {
            for line in head.components(separatedBy: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    let port: Int
    var address: String { "127.0.0.1:\(port)" }
    private let reply: Reply
    private let listener: Int32
    // @unchecked: these are only touched under `lock`.
    private let lock = NSLock()
    private var received: [Request] = []
    private var held: [Int32] = []
    private var stopping = false
    private let served = DispatchSemaphore(value: 0)

    static func with<T>(_ reply: Reply, _ body: (FakeEndpoint) async throws -> T) async throws -> T {
        let fake = try FakeEndpoint(reply: reply)
        defer { fake.stop() }
        return try await body(fake)
    }

    private init(reply: Reply) throws {
        self.reply = reply
        port = PortAllocator.ports(1)[0]
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw Unexpected("socket: errno \(errno)") }
        guard withLoopbackAddress(port: port, { bind(listener, $0, $1) }) == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw Unexpected("cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        Thread.detachNewThread { self.serve() }
    }

    var requests: [Request] { lock.withLock { received } }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func serve() {
        defer { served.signal() }
        while !isStopping {
            guard Self.readable(listener, milliseconds: 50) else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            guard let head = Self.readRequest(connection) else {
                close(connection)
                continue
            }
            lock.withLock { received.append(Request(head: head)) }
            switch reply {
            case .closeWithoutAnswer:
                close(connection)
            case .send(let text):
                Self.writeAll(connection, Array(text.utf8))
                close(connection)
            case .sendAndHold(let text):
                Self.writeAll(connection, Array(text.utf8))
                lock.withLock { held.append(connection) }
            }
        }
    }

    /// Stops accepting, waits for the serving thread, and closes every socket.
    func stop() {
        lock.withLock { stopping = true }
        served.wait()
        close(listener)
        for connection in lock.withLock({ held }) { close(connection) }
    }

    /// The request head, after reading the body its `Content-Length` announces; nil when the
    /// client sent no whole request within 10 s.
    private static func readRequest(_ connection: Int32) -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        var bytes: [UInt8] = []
        var headEnd: Int?
        var needed = Int.max
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < needed {
            guard ContinuousClock.now < deadline else { return nil }
            guard readable(connection, milliseconds: 50) else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            bytes += buffer[0..<count]
            if headEnd == nil, let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }) {
                headEnd = end
                let head = String(decoding: bytes[..<end], as: UTF8.self)
                let length = Request(head: head).header("Content-Length").flatMap { Int($0) } ?? 0
                needed = end + 4 + length
            }
        }
        return headEnd.map { String(decoding: bytes[..<$0], as: UTF8.self) }
    }

    private static func readable(_ fd: Int32, milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    private static func writeAll(_ connection: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return }
            offset += written
        }
    }
}
