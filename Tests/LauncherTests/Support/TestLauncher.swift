import Foundation
import HTTPTypes
import Hummingbird
import Launcher
import Logging

/// The launcher's parts wired as `Launcher.run` wires them, over a fake kv-node script and a
/// `FakeCluster`, in a temporary data directory.
struct TestLauncher {
    let directory: TemporaryDirectory
    let dataDirectory: URL
    let executable: String
    let events: EventHub
    let cluster: FakeCluster
    let supervisor: Supervisor
    let monitor: StatusMonitor
    let controller: ClusterController
    let gateway: KVGateway
    let basePort: Int

    /// Ports well away from a running launcher's 9000-9100 and below Linux's ephemeral range
    /// (32768 up), where other tests' outgoing connections take ports at random; the fake
    /// nodes never bind them.
    static func freeBasePort() -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...32_000) / 10 * 10
            if (0..<8).allSatisfy({ PortProbe.isFree(base + $0 * 10) && PortProbe.isFree(base + $0 * 10 + 1) }) {
                return base
            }
        }
        return 31_000
    }

    init(directory: TemporaryDirectory? = nil, nodes: Int = 3, basePort: Int? = nil) throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        self.basePort = basePort ?? TestLauncher.freeBasePort()
        dataDirectory = directory.url.appendingPathComponent("data")
        executable = try FakeKVNode.install(in: directory.url)
        let plan = PortPlan(basePort: self.basePort)
        let store = ClusterConfigStore(dataDirectory: dataDirectory)
        let config = try store.load() ?? ClusterConfig.initial(count: nodes, plan: plan)
        try store.save(config)
        var logger = Logger(label: "launcher-tests")
        logger.logLevel = .warning
        events = EventHub()
        cluster = FakeCluster()
        let certificates = try ClusterCertificates.loadOrCreate(dataDirectory: dataDirectory).0
        supervisor = Supervisor(
            dataDirectory: dataDirectory, executable: executable, plan: plan, config: config, events: events,
            logger: logger, stopTimeout: .seconds(3), certificates: certificates)
        cluster.attach(supervisor)
        monitor = StatusMonitor(supervisor: supervisor, api: cluster, events: events, logger: logger)
        controller = ClusterController(supervisor: supervisor, monitor: monitor, api: cluster, events: events, logger: logger)
        gateway = KVGateway(supervisor: supervisor, monitor: monitor, api: cluster)
    }

    /// Starts every node and polls once so the monitor knows the leader.
    func start() async {
        await controller.startAll()
        await monitor.pollOnce()
    }

    /// HummingbirdTesting addresses its requests to `localhost` (no port), which the default
    /// access rules admit as the launcher's own name.
    func application(access: ControlAccess = ControlAccess(host: "127.0.0.1", port: 8080)) throws -> some ApplicationProtocol {
        Application(
            router: Launcher.makeRouter(
                controller: controller, gateway: gateway, events: events, assets: try DashboardAssets.bundled(),
                access: access))
    }

    func stop() async {
        await controller.shutdown()
        events.finish()
    }

    func log(of id: String) -> String {
        (try? String(contentsOf: dataDirectory.appendingPathComponent(id).appendingPathComponent("node.log"), encoding: .utf8)) ?? ""
    }
}

/// Polls `condition` until it holds or `timeout` passes. The default is generous because the
/// whole suite shares two cores with tests that saturate them; conditions usually hold at once.
func eventually(
    timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

extension HTTPFields {
    /// What every state-changing request to the launcher sends (Docs/LAUNCHER.md, "Access rules").
    static let json: HTTPFields = [.contentType: "application/json"]
}
