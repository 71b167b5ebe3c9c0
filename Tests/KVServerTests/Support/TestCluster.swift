import ClusterAPI
import Foundation
import HTTPTestSupport

/// A set of `kv-node` processes under one fresh temporary directory, on ports of their
/// own, so tests can run in parallel with each other and with a hand-run launcher.
///
/// Use it through `TestCluster.with`, which removes every process and file at the end
/// of the test, also when the test fails, and prints the nodes' log tails on failure.
final class TestCluster {
    let root: URL
    private(set) var nodes: [NodeProcess] = []
    /// Flags every node of this cluster gets (timing, snapshot policy).
    let commonArguments: [String]

    /// Fast elections; a request timeout with slack for a loaded 2-core machine, still well
    /// inside the HTTP client's 20 s.
    static let timingArguments = ["--tick-ms", "10", "--heartbeat-ticks", "5", "--election-ticks", "30",
                                  "--request-timeout-ms", "5000"]

    private init(extraArguments: [String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kvserver-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        commonArguments = Self.timingArguments + extraArguments
    }

    /// Runs `body` with `size` bootstrapped nodes (node1...nodeN) already started, then
    /// removes everything whatever happens. `nodeArguments` adds flags of one node's own
    /// (its TLS files), given its id and the cluster's directory.
    static func with(size: Int, arguments: [String] = [], nodeArguments: (String, URL) throws -> [String] = { _, _ in [] },
                     _ body: (TestCluster) async throws -> Void) async throws {
        let cluster = try TestCluster(extraArguments: arguments)
        defer { cluster.destroy() }
        do {
            cluster.bootstrap(size: size)
            for node in cluster.nodes { node.extraArguments += try nodeArguments(node.id, cluster.root) }
            try cluster.nodes.forEach { try $0.start() }
            try await body(cluster)
        } catch {
            cluster.printLogTails(because: error)
            throw error
        }
    }

    private func bootstrap(size: Int) {
        let ports = PortAllocator.ports(2 * size)
        nodes = (0..<size).map { i in
            NodeProcess(id: "node\(i + 1)", apiPort: ports[2 * i], raftPort: ports[2 * i + 1],
                        directory: root.appendingPathComponent("node\(i + 1)"), extraArguments: commonArguments)
        }
        let peers = nodes.map(\.peerEntry).joined(separator: ",")
        for node in nodes { node.extraArguments += ["--bootstrap", "--peers", peers] }
    }

    /// Starts a node with no state that asks `via` (an API address) for admission.
    func startJoiner(id: String, via: NodeProcess) throws -> NodeProcess {
        try startNode(id: id) { _ in ["--join", via.apiAddress] }
    }

    /// Starts one more node on ports of its own with the common flags and the flags
    /// `arguments` makes for it (which may name its own addresses); it is stopped and
    /// removed with the cluster.
    func startNode(id: String, arguments: (NodeProcess) throws -> [String]) throws -> NodeProcess {
        let node = try makeNode(id: id, arguments: arguments)
        try node.start()
        return node
    }

    /// Like `startNode`, but not started yet: for a node whose data directory a test
    /// prepares first (`kv-node restore`).
    func makeNode(id: String, arguments: (NodeProcess) throws -> [String] = { _ in [] }) throws -> NodeProcess {
        let ports = PortAllocator.ports(2)
        let node = NodeProcess(id: id, apiPort: ports[0], raftPort: ports[1], directory: root.appendingPathComponent(id),
                               extraArguments: commonArguments)
        node.extraArguments += try arguments(node)
        nodes.append(node)
        return node
    }

    subscript(id: String) -> NodeProcess { nodes.first { $0.id == id }! }

    /// Waits until one of `candidates` (all running nodes by default) reports itself
    /// leader and every candidate names it; paused or dead nodes must be left out, since
    /// asking them would hang or fail.
    func leader(among candidates: [NodeProcess]? = nil, newerThan term: UInt64 = 0,
                timeout: Duration = .seconds(30)) async throws -> NodeProcess {
        let group = candidates ?? nodes.filter(\.isRunning)
        return try await eventually("a leader among \(group.map(\.id)) above term \(term)", timeout: timeout) {
            var statuses: [NodeStatus] = []
            for node in group { statuses.append(try await node.client.status()) }
            guard let leader = statuses.first(where: { $0.isLeader && $0.term > term }),
                  statuses.allSatisfy({ $0.leader == leader.id && $0.term == leader.term }) else {
                throw NotYet(statuses.map { "\($0.id):\($0.role)@\($0.term) leader=\($0.leader ?? "-")" }.joined(separator: ", "))
            }
            return group.first { $0.id == leader.id }
        }
    }

    func followers(of leader: NodeProcess) -> [NodeProcess] {
        nodes.filter { $0.id != leader.id && $0.isRunning }
    }

    private func printLogTails(because error: any Error) {
        var report = "test failed: \(error)\n"
        for node in nodes {
            report += "----- \(node.id) (\(node.apiAddress)) log tail -----\n\(node.logTail())\n"
        }
        print(report)
    }

    /// SIGKILLs whatever still runs and deletes the directory. Synchronous so it can run
    /// in a `defer`.
    private func destroy() {
        for node in nodes { node.forceStop() }
        try? FileManager.default.removeItem(at: root)
    }
}
