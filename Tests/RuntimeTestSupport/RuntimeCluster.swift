import Foundation
import KVStore
import Logging
import NIOPosix
import NodeRuntime
import RaftCore
import Transport

/// How the nodes of a test cluster run: short timings so elections and failover take a
/// fraction of a second, and a cluster ID no real node uses.
public struct ClusterOptions: Sendable {
    public var tickMilliseconds = 10
    public var heartbeatTicks = 5
    public var electionTicks = 25
    public var requestTimeoutMilliseconds = 5_000
    public var snapshotEveryEntries: UInt64 = 10_000
    public var entriesRetainedAfterSnapshot: UInt64 = 1_000
    public var clusterID = "runtime-test"
    /// History kept before the leader compacts it; the default is kv-node's.
    public var historyRetention = HistoryRetention()
    public var watchLimits = WatchHub.Limits()

    public init() {}

    func runtimeConfig(id: NodeID, address: MemberAddress) -> RuntimeConfig {
        var config = RuntimeConfig(id: id, address: address)
        config.clusterID = clusterID
        config.tickMilliseconds = tickMilliseconds
        config.heartbeatTicks = heartbeatTicks
        config.electionTicks = electionTicks
        config.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        config.snapshotEveryEntries = snapshotEveryEntries
        config.entriesRetainedAfterSnapshot = entriesRetainedAfterSnapshot
        config.historyRetention = historyRetention
        config.watchLimits = watchLimits
        return config
    }
}

/// Runtimes in one process, each on a real `DurableStore` in a temporary directory and a
/// `RaftTransport` on 127.0.0.1. No HTTP runs, so API addresses are placeholders.
///
/// Use it through `withRuntimeCluster`, which tears everything down (runtimes, transports,
/// stores, event loops, directories) whether the test passes, fails or throws.
public final class RuntimeCluster: @unchecked Sendable {
    // @unchecked: a cluster belongs to the one test task that made it; nothing shares it.
    public let root: String
    public let options: ClusterOptions
    /// Every node by id, running or not; a restart replaces its entry.
    public private(set) var nodes: [NodeID: RuntimeNode] = [:]
    /// The ids of nodes that are running now.
    public private(set) var running: Set<NodeID> = []
    /// Event loops of every incarnation, stopped at teardown after everything that runs on them.
    private var groups: [MultiThreadedEventLoopGroup] = []
    private let logger: Logger

    init(options: ClusterOptions) {
        self.options = options
        self.root = NSTemporaryDirectory() + "runtime-cluster-" + UUID().uuidString
        var logger = Logger(label: "runtime-test")
        logger.logLevel = ProcessInfo.processInfo.environment["RUNTIME_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        self.logger = logger
    }

    /// Node ids in a stable order: n1, n2, ...
    public var ids: [NodeID] { nodes.keys.sorted { $0.rawValue.count != $1.rawValue.count ? $0.rawValue.count < $1.rawValue.count : $0 < $1 } }

    public subscript(_ id: NodeID) -> RuntimeNode {
        get throws {
            guard let node = nodes[id] else { throw HarnessError("no node \(id)") }
            return node
        }
    }

    public var runningNodes: [RuntimeNode] { ids.filter(running.contains).compactMap { nodes[$0] } }

    // MARK: Making nodes

    /// Starts `count` founding voters n1...nN: transports first (to learn their ports), then
    /// every store bootstrapped with the real addresses, then the runtimes.
    func launch(voters count: Int) async throws {
        var prepared: [(id: NodeID, directory: String, store: DurableStore, transport: RaftTransport,
                        group: MultiThreadedEventLoopGroup)] = []
        do {
            for i in 1...count {
                let id = NodeID("n\(i)")
                let directory = try makeDirectory(for: id)
                let (store, transport, group) = try await open(id: id, directory: directory, port: 0)
                prepared.append((id, directory, store, transport, group))
            }
            let voters = prepared.map { ($0.id, Self.address(port: $0.transport.port ?? 0)) }
            for node in prepared {
                _ = try await NodeRuntime.bootstrapIfEmpty(store: node.store, voters: voters)
            }
        } catch {
            // Nothing runs yet: close what was opened (teardown sees only started nodes).
            for node in prepared {
                await node.transport.shutdown()
                node.store.close()
            }
            throw error
        }
        for (index, node) in prepared.enumerated() {
            do {
                try await startRuntime(id: node.id, directory: node.directory, store: node.store,
                                       transport: node.transport, group: node.group)
            } catch {
                // startRuntime closed this node's own; the ones after it never started.
                for later in prepared[(index + 1)...] {
                    await later.transport.shutdown()
                    later.store.close()
                }
                throw error
            }
        }
    }

    /// Starts a node with an empty directory that is in no configuration: it waits to be
    /// admitted (see `join`). `configure` may change its runtime settings.
    public func addEmptyNode(_ id: NodeID, configure: (inout RuntimeConfig) -> Void = { _ in }) async throws -> RuntimeNode {
        guard nodes[id] == nil else { throw HarnessError("node \(id) exists already") }
        let directory = try makeDirectory(for: id)
        let (store, transport, group) = try await open(id: id, directory: directory, port: 0)
        return try await startRuntime(id: id, directory: directory, store: store, transport: transport, group: group,
                                      configure: configure)
    }

    /// Stops a node as a crash would look to the others (no goodbye), and closes its store.
    public func crash(_ id: NodeID) async throws {
        let node = try self[id]
        running.remove(id)
        await node.stop()
    }

    /// Starts a stopped node again on its directory and Raft port: the store reopens with
    /// what it had, and the runtime resumes from it.
    @discardableResult
    public func restart(_ id: NodeID) async throws -> RuntimeNode {
        let old = try self[id]
        guard !running.contains(id) else { throw HarnessError("node \(id) is running") }
        // The port was ours a moment ago; binding it again may briefly fail while peers'
        // dials to it are being torn down.
        let (store, transport, group) = try await eventually("\(id) to bind \(old.address.raft) again", timeout: .seconds(10)) {
            try await open(id: id, directory: old.directory, port: old.address.raft.port)
        }
        return try await startRuntime(id: id, directory: old.directory, store: store, transport: transport, group: group)
    }

    private func makeDirectory(for id: NodeID) throws -> String {
        let directory = root + "/" + id.rawValue
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    private func open(id: NodeID, directory: String, port: Int) async throws
        -> (DurableStore, RaftTransport, MultiThreadedEventLoopGroup) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        groups.append(group)
        var configuration = TransportConfiguration(localID: id, clusterID: options.clusterID, host: "127.0.0.1", port: port)
        // As kv-node sets them: redial quickly, and give up a dial after an election timeout.
        configuration.reconnectBackoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(500))
        configuration.connectTimeout = .milliseconds(max(500, options.electionTicks * options.tickMilliseconds))
        let transport = try await RaftTransport.start(configuration: configuration, group: group, logger: logger)
        let store: DurableStore
        do {
            store = try DurableStore(directory: directory)
        } catch {
            await transport.shutdown()
            throw error
        }
        return (store, transport, group)
    }

    @discardableResult
    private func startRuntime(id: NodeID, directory: String, store: DurableStore, transport: RaftTransport,
                              group: MultiThreadedEventLoopGroup,
                              configure: (inout RuntimeConfig) -> Void = { _ in }) async throws -> RuntimeNode {
        let address = Self.address(port: transport.port ?? 0)
        var config = options.runtimeConfig(id: id, address: address)
        configure(&config)
        let metrics = NodeMetrics()
        let runtime: NodeRuntime
        do {
            runtime = try NodeRuntime(config: config, store: store, transport: transport, metrics: metrics, logger: logger)
        } catch {
            await transport.shutdown()
            store.close()
            throw error
        }
        let node = RuntimeNode(id: id, directory: directory, address: address, store: store, transport: transport,
                               runtime: runtime, metrics: metrics, group: group)
        nodes[id] = node
        running.insert(id)
        await runtime.start()
        return node
    }

    /// Loopback Raft address; the API address is never dialled (no HTTP runs) but must be
    /// unique per member, so it mirrors the Raft port.
    static func address(port: Int) -> MemberAddress {
        MemberAddress(raft: HostPort(host: "127.0.0.1", port: port), api: HostPort(host: "127.0.0.2", port: port))
    }

    // MARK: Teardown

    /// Stops every running node, then every event loop, then deletes the directories.
    func shutdown() async {
        for id in ids where running.contains(id) {
            if let node = nodes[id] { await node.stop() }
        }
        running = []
        for group in groups { try? await group.shutdownGracefully() }
        groups = []
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// Runs `body` on a cluster of `voters` founding nodes and tears the cluster down afterwards,
/// also when `body` throws or an expectation fails.
public func withRuntimeCluster<T>(voters: Int, options: ClusterOptions = ClusterOptions(),
                                  _ body: (RuntimeCluster) async throws -> T) async throws -> T {
    let cluster = RuntimeCluster(options: options)
    let result: T
    do {
        try await cluster.launch(voters: voters)
        result = try await body(cluster)
    } catch {
        await cluster.shutdown()
        throw error
    }
    await cluster.shutdown()
    return result
}

/// The harness was asked for something impossible (a test's mistake).
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
