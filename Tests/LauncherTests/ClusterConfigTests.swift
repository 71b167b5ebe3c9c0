import Foundation
import Launcher
import Testing

@Suite struct ClusterConfigTests {
    @Test func initialLayoutIsNode1ToNode3() {
        let config = ClusterConfig.initial(count: 3, plan: PortPlan(basePort: 9000))
        #expect(config.nodes.map(\.id.rawValue) == ["node1", "node2", "node3"])
        #expect(config.nodes.map(\.apiPort) == [9000, 9010, 9020])
        #expect(config.nodes.map(\.raftPort) == [9001, 9011, 9021])
        #expect(config.nodes.allSatisfy { $0.founder })
        #expect(!config.bootstrapped)
    }

    @Test func roundTripsThroughTheFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = ClusterConfigStore(dataDirectory: directory.url)
        #expect(try store.load() == nil)
        var config = ClusterConfig.initial(count: 3, plan: PortPlan(basePort: 19000))
        config.bootstrapped = true
        config.nodes.append(NodeConfig(id: NodeID("extra")!, slot: 4, apiPort: 19030, raftPort: 19031, founder: false))
        try store.save(config)
        #expect(try store.load() == config)
        let text = try String(contentsOf: store.url, encoding: .utf8)
        #expect(text.contains(#""api_port" : 19030"#))
    }

    @Test func aDamagedFileIsAnErrorNotAFreshCluster() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = ClusterConfigStore(dataDirectory: directory.url)
        try Data("{ not json".utf8).write(to: store.url)
        #expect(throws: (any Error).self) { try store.load() }
        let badID = #"{"version":1,"bootstrapped":true,"nodes":[{"id":"../x","slot":1,"api_port":1,"raft_port":2,"founder":true}]}"#
        try Data(badID.utf8).write(to: store.url)
        #expect(throws: (any Error).self) { try store.load() }
    }
}

@Suite struct NodeArgumentsTests {
    let config = ClusterConfig.initial(count: 3, plan: PortPlan(basePort: 9000))
    let arguments = NodeArguments(dataDirectory: "/tmp/data")

    @Test func foundersBootstrapUntilTheClusterHadALeader() {
        let argv = arguments.arguments(for: config.nodes[1], in: config, joinAddress: nil)
        #expect(argv == [
            "--id", "node2", "--api-addr", "127.0.0.1:9010", "--raft-addr", "127.0.0.1:9011", "--data-dir", "/tmp/data/node2",
            "--bootstrap", "--peers",
            "node1=127.0.0.1:9001@127.0.0.1:9000,node2=127.0.0.1:9011@127.0.0.1:9010,node3=127.0.0.1:9021@127.0.0.1:9020",
        ])
    }

    @Test func resumedFoundersNeverBootstrapAgain() {
        var resumed = config
        resumed.bootstrapped = true
        let argv = arguments.arguments(for: resumed.nodes[0], in: resumed, joinAddress: "127.0.0.1:9010")
        #expect(!argv.contains("--bootstrap"))
        #expect(!argv.contains("--peers"))
        #expect(!argv.contains("--join"))
    }

    @Test func addedNodesJoin() {
        var grown = config
        grown.bootstrapped = true
        let added = NodeConfig(id: NodeID("node4")!, slot: 4, apiPort: 9030, raftPort: 9031, founder: false)
        grown.nodes.append(added)
        let argv = arguments.arguments(for: added, in: grown, joinAddress: "127.0.0.1:9000")
        #expect(argv.suffix(2) == ["--join", "127.0.0.1:9000"])
        #expect(!argv.contains("--bootstrap"))
    }
}
