import FoundationEssentials
import HTTPLimits
import Hummingbird
import HummingbirdCore
import KVStore
import Logging
import NIOPosix
import NIOSSL
import NodeRuntime
import RaftCore
import ServiceLifecycle
import Transport

/// Everything `kv-node` is told on its command line.
public struct NodeOptions: Sendable {
    public var id: NodeID
    public var apiAddress: HostPort
    public var raftAddress: HostPort
    public var dataDirectory: String
    /// Founding members, used only when the data directory holds no Raft state.
    public var bootstrapPeers: [(NodeID, MemberAddress)]?
    /// A member's API address to ask for admission, when the node has no state.
    public var join: JoinTarget?
    public var runtime: RuntimeConfig
    /// Idempotency-Key sessions kept (with their answers, then evicted); equal on every node.
    public var sessionLimits = SessionLimits()
    /// Connection cap and idle timeout of the HTTP API.
    public var http = HTTPServerLimits()
    /// Bytes of keys and values one `GET /kv` page holds before it ends early.
    public var maxPageBytes = NodeOptions.defaultMaxPageBytes
    public static let defaultMaxPageBytes = 4 << 20
    /// What peers may make this node hold on its Raft port (connections, buffered bytes).
    public var peerLimits = InboundLimits()
    /// How long either side of a Raft connection waits for the other's handshake.
    public var peerHandshakeTimeout: Duration = .seconds(5)
    /// Mutual TLS on the Raft port (both ways); plain TCP when nil.
    public var peerTLS: PeerTLS?
    /// A secret every peer must prove at its handshake (`--cluster-secret-file`); with
    /// `peerTLS` too, both are checked (Docs/TRANSPORT.md, "Cluster secret").
    public var clusterSecret: ClusterSecret?
    /// HTTPS on the API (`--cert-file`, `--key-file`, `--client-cert-auth`); plain HTTP when nil.
    public var clientTLS: ClientTLS?
    /// Users, tokens and their permissions (`--auth-file`); every client may do anything when nil.
    public var clientAuth: ClientAuthenticator?

    public init(id: NodeID, apiAddress: HostPort, raftAddress: HostPort, dataDirectory: String) {
        self.id = id
        self.apiAddress = apiAddress
        self.raftAddress = raftAddress
        self.dataDirectory = dataDirectory
        self.runtime = RuntimeConfig(id: id, address: MemberAddress(raft: raftAddress, api: apiAddress))
    }
}

/// Wires storage, transport, runtime and the HTTP API into one process, and shuts them
/// down in order on SIGTERM or SIGINT: stop accepting requests, finish those in flight,
/// stop the runtime, close connections, close LMDB.
public enum NodeServer {
    /// The `Server` header of every response.
    static let name = "kv-node"

    public static func run(_ options: NodeOptions, logger: Logger) async throws {
        // Locked before anything in the directory is opened: a second kv-node on the same
        // directory stops here, having changed nothing. Held until this function returns.
        let lock = try DirectoryLock(directory: options.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        let store = try DurableStore(directory: options.dataDirectory, options: StoreOptions(sessionLimits: options.sessionLimits))
        if let peers = options.bootstrapPeers {
            if try await NodeRuntime.bootstrapIfEmpty(store: store, voters: peers) {
                logger.notice("bootstrapped a new cluster", metadata: ["voters": "\(peers.map(\.0.rawValue))"])
            } else {
                logger.notice("existing Raft state found; not bootstrapping again")
            }
        }
        let hadState = store.hasRaftState
        var transportConfig = TransportConfiguration(localID: options.id, clusterID: options.runtime.clusterID,
                                                     host: options.raftAddress.host, port: options.raftAddress.port)
        transportConfig.reconnectBackoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        // A dial that has not connected in an election timeout (half a second at least) is
        // given up and tried again: after a partition heals, the next attempt is never far
        // off (Docs/TRANSPORT.md, "Silent peers").
        let electionTimeout = Duration.milliseconds(options.runtime.electionTicks * options.runtime.tickMilliseconds)
        transportConfig.connectTimeout = max(.milliseconds(500), electionTimeout)
        transportConfig.inbound = options.peerLimits
        transportConfig.handshakeTimeout = options.peerHandshakeTimeout
        transportConfig.tls = options.peerTLS
        transportConfig.clusterSecret = options.clusterSecret
        // One thread for Raft traffic and the runtime actor (which runs on the transport's
        // loop). The group is ours, not the transport's, so it outlives both: it stops last.
        let raftLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let transport: RaftTransport
        do {
            transport = try await RaftTransport.start(configuration: transportConfig, group: raftLoop, logger: logger)
        } catch {
            try? await raftLoop.shutdownGracefully()
            throw error
        }
        let metrics = NodeMetrics()
        let runtime: NodeRuntime
        do {
            runtime = try NodeRuntime(config: options.runtime, store: store, transport: transport,
                                      metrics: metrics, logger: logger)
        } catch {
            await transport.shutdown()
            try? await raftLoop.shutdownGracefully()
            throw error
        }
        await runtime.start()

        let secure = options.clientTLS != nil
        let authenticator = options.clientAuth
        let router = Self.router(runtime: runtime, store: store, metrics: metrics, maxPageBytes: options.maxPageBytes,
                                 secure: secure, authenticator: authenticator)
        let operations = KVOperations(runtime: runtime, store: store)
        let connections = ConnectionLimit(maximum: options.http.maxConnections)
        let idleTimeout = options.http.idleTimeout
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try options.clientTLS?.makeContext()
        } catch {
            await runtime.stop()
            await transport.shutdown()
            try? await raftLoop.shutdownGracefully()
            throw error
        }
        let server = Self.httpServer(operations: operations, metrics: metrics, connections: connections,
                                     idleTimeout: idleTimeout, tls: tlsContext, secure: secure, authenticator: authenticator)
        let app = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(options.apiAddress.host, port: options.apiAddress.port),
                                                    serverName: name),
            eventLoopGroupProvider: .shared(raftLoop),
            logger: logger
        )
        let node = NodeService(runtime: runtime, transport: transport, raftLoop: raftLoop, store: store,
                               join: hadState ? nil : options.join, logger: logger)
        // Services stop in reverse order: the HTTP server first, then the node.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: node), .init(service: app)]
        if let authenticator { services.append(.init(service: AuthFileReloader(authenticator: authenticator, logger: logger))) }
        // Last, so it stops first: open watches end before the server waits for its responses.
        services.append(.init(service: WatchShutdownService(hub: runtime.watchHub)))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

extension NodeServer {
    /// The Hummingbird routes of the API (`store` and `metrics` are the runtime's). One
    /// function so the route tests drive exactly the router kv-node serves.
    /// The cross-site rule first (it refuses without looking at credentials), then, with an
    /// auth file, `ClientAuthMiddleware`.
    static func router(runtime: NodeRuntime, store: DurableStore, metrics: NodeMetrics,
                       maxPageBytes: Int, secure: Bool = false,
                       authenticator: ClientAuthenticator? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        // Outermost, so refusals and the timing middleware's error answers carry it too.
        router.add(middleware: RevisionHeaderMiddleware(runtime: runtime))
        router.add(middleware: RequestTimingMiddleware(metrics: metrics))
        router.add(middleware: CrossSiteMiddleware(rule: CrossSiteRule(ownAuthority: runtime.config.address.api.description,
                                                                       secure: secure)))
        if let authenticator { router.add(middleware: ClientAuthMiddleware(authenticator: authenticator)) }
        KVRoutes(runtime: runtime, store: store, maxPageBytes: maxPageBytes).register(on: router)
        TxnRoutes(runtime: runtime, store: store).register(on: router)
        WatchRoutes(runtime: runtime, store: store).register(on: router)
        LeaseRoutes(runtime: runtime, store: store).register(on: router)
        CompactRoutes(runtime: runtime).register(on: router)
        ClusterRoutes(runtime: runtime, scheme: secure ? "https" : "http").register(on: router)
        BackupRoutes(runtime: runtime, store: store).register(on: router)
        ImportRoutes(runtime: runtime).register(on: router)
        ObservabilityRoutes(runtime: runtime, metrics: metrics).register(on: router)
        return router
    }
}

/// The runtime as a lifecycle service: runs until graceful shutdown, joining the cluster
/// first if asked to.
struct NodeService: Service {
    let runtime: NodeRuntime
    let transport: RaftTransport
    let raftLoop: MultiThreadedEventLoopGroup
    let store: DurableStore
    let join: JoinTarget?
    let logger: Logger

    func run() async throws {
        if let join {
            let joiner = JoinClient(runtime: runtime, target: join, group: raftLoop, logger: logger)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await joiner.run() }
                group.addTask { try? await gracefulShutdown() }
                await group.next()
                group.cancelAll()
            }
        }
        try? await gracefulShutdown()
        logger.notice("shutting down")
        await runtime.stop()
        await transport.shutdown()
        store.close()
        try? await raftLoop.shutdownGracefully()
        logger.notice("stopped cleanly")
    }
}
