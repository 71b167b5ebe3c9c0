import Foundation
import HTTPLimits
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Wires the launcher together: configuration, supervisor, monitor, controller, routes and
/// the HTTP server, all under one `ServiceGroup` that handles SIGINT and SIGTERM.
public enum Launcher {
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(_ options: LauncherOptions) async throws {
        var logger = Logger(label: "kv-launcher")
        logger.logLevel = options.logLevel

        let dataDirectory = URL(fileURLWithPath: options.dataDirectory).standardizedFileURL
        // First of all: a second launcher on this directory stops here, having touched nothing.
        let lock = try LauncherLock(dataDirectory: dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        if options.host == "127.0.0.1" && !PortProbe.isFree(options.port) {
            throw StartupError(description: "port \(options.port) is in use; pass --port to use another")
        }

        // Before anything is started: a bad token file stops the launcher here.
        let access = ControlAccess(host: options.host, port: options.port, allowedHosts: options.allowedHosts,
                                   token: try options.controlTokenFile.map { try ControlToken.read(path: $0) })
        if !["127.0.0.1", "localhost", "::1"].contains(options.host) && options.controlTokenFile == nil {
            logger.warning("the control API listens on \(options.host) without --control-token-file: anyone who reaches it can stop and delete nodes")
        }

        let plan = PortPlan(basePort: options.basePort)
        let config = try LaunchPlan.loadOrCreate(
            dataDirectory: dataDirectory, initialNodes: options.initialNodes, plan: plan, logger: logger)
        let (certificates, replaced) = try ClusterCertificates.loadOrCreate(dataDirectory: dataDirectory)
        if let replaced { logger.warning("\(replaced); made a new cluster CA, and node certificates follow at each start") }
        // Every node now, not only at its start, so tls/ is complete as soon as the launcher runs.
        for node in config.nodes { try certificates.nodeFiles(for: node.id, host: NodeArguments.nodeHost) }
        logger.info("peer TLS: cluster CA \(certificates.authorityFile)")
        let reaped = await OrphanReaper.reap(config: config, dataDirectory: dataDirectory)
        if !reaped.isEmpty { logger.warning("stopped nodes left by an earlier launcher: \(reaped)") }

        let executable = try await KVNodeLocator.locate(explicit: options.kvNodePath, logger: logger)
        let assets = try DashboardAssets.bundled()
        logger.info("kv-node: \(executable)")

        let events = EventHub()
        let api = try HTTPNodeAPI(trustedCAFile: options.tls ? certificates.authorityFile : nil)
        let supervisor = Supervisor(
            dataDirectory: dataDirectory, executable: executable, plan: plan, config: config, events: events, logger: logger,
            certificates: certificates, servesHTTPS: options.tls)
        let monitor = StatusMonitor(supervisor: supervisor, api: api, events: events, logger: logger)
        let controller = ClusterController(supervisor: supervisor, monitor: monitor, api: api, events: events, logger: logger)
        let gateway = KVGateway(supervisor: supervisor, monitor: monitor, api: api)

        let router = makeRouter(controller: controller, gateway: gateway, events: events, assets: assets, access: access)
        let url = "http://\(options.host == "127.0.0.1" ? "localhost" : options.host):\(options.port)"
        let connections = ConnectionLimit(maximum: options.http.maxConnections)
        let idleTimeout = options.http.idleTimeout
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                LimitedHTTP1Channel(responder: responder, connections: connections, idleTimeout: idleTimeout)
            },
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "kv-launcher"),
            onServerRunning: { _ in
                // Unbuffered, so the line shows at once even when stdout is a file.
                FileHandle.standardOutput.write(Data("kv-launcher: dashboard on \(url)  (Ctrl-C stops the cluster)\n".utf8))
                if options.tls {
                    let first = config.nodes.first.map { "https://127.0.0.1:\($0.apiPort)" } ?? "https://127.0.0.1:PORT"
                    FileHandle.standardOutput.write(Data("kv-launcher: node APIs use HTTPS; curl --cacert \(certificates.authorityFile) \(first)/kv/KEY\n".utf8))
                }
            },
            logger: logger)
        events.record(.launcherStarted, "Launcher started; dashboard on \(url)")

        let cluster = ClusterService(controller: controller, monitor: monitor, events: events, logger: logger)
        // Shut down in reverse order: the cluster (nodes) first, then the HTTP server.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: app), .init(service: cluster)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await supervisor.stopAll()
            await api.shutdown()
            throw error
        }
        await api.shutdown()
    }

    /// All routes behind the access rules; public so tests can drive them in-process.
    public static func makeRouter(
        controller: ClusterController, gateway: KVGateway, events: EventHub, assets: DashboardAssets,
        access: ControlAccess
    ) -> Router<BasicRequestContext> {
        let router = Router()
        // First, so it stands in front of every route added below.
        router.add(middleware: ControlAccessMiddleware(access: access))
        ControlRoutes.register(on: router, controller: controller)
        KVRoutes.register(on: router, gateway: gateway)
        WatchRoutes.register(on: router, gateway: gateway)
        SnapshotRoutes.register(on: router, gateway: gateway)
        EventRoutes.register(on: router, events: events)
        DashboardRoutes.register(on: router, assets: assets)
        return router
    }
}
