import Foundation
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

/// The control API end to end through the router, over real (fake kv-node) processes and the
/// scripted `FakeCluster`.
@Suite struct ControlAPITests {
    func json(_ response: TestResponse) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    }

    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try json(response) as? [String: Any])
    }

    @Test func nodesHaveTheDesignShape() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/control/nodes", method: .get)
            #expect(response.status == .ok)
            let nodes = try #require(try json(response) as? [[String: Any]])
            #expect(nodes.count == 3)
            for key in ["id", "api_port", "raft_port", "status", "role", "is_leader", "term", "commit_index", "applied_index", "pid"] {
                #expect(nodes.allSatisfy { $0[key] != nil }, "missing \(key)")
            }
            #expect(nodes.map { $0["api_port"] as? Int } == [0, 10, 20].map { launcher.basePort + $0 })
            #expect(nodes.filter { $0["is_leader"] as? Bool == true }.map { $0["id"] as? String } == ["node1"])
            #expect(nodes.allSatisfy { $0["status"] as? String == "online" && $0["state"] as? String == "running" })
        }
        await launcher.stop()
    }

    @Test func badIDsAre400AndNeverTouchTheDisk() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            for uri in ["/api/control/stop/bad!id", "/api/control/start/..%2F..%2Fetc", "/api/control/delete/a.b", "/api/control/logs/%2E%2E"] {
                let method: HTTPRequest.Method = uri.contains("logs") ? .get : .post
                let response = try await client.execute(uri: uri, method: method, headers: .json)
                #expect(response.status == .badRequest, "\(uri)")
                #expect((try object(response)["error"] as? String)?.contains("invalid node id") == true)
            }
            for name in ["../escape", "a/b", "", String(repeating: "n", count: 65)] {
                let body = try JSONSerialization.data(withJSONObject: ["node_id": name])
                let response = try await client.execute(uri: "/api/control/add", method: .post, headers: .json, body: ByteBuffer(bytes: body))
                #expect(response.status == .badRequest, "\(name)")
            }
            let response = try await client.execute(uri: "/api/control/stop/ghost", method: .post, headers: .json)
            #expect(response.status == .notFound)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: launcher.dataDirectory.path).sorted()
        #expect(entries == ["cluster.json", "node1", "node2", "node3", "tls"])
        #expect(!FileManager.default.fileExists(atPath: launcher.directory.url.appendingPathComponent("escape").path))
        await launcher.stop()
    }

    @Test func addPicksTheNextFreePortsAndJoins() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            let response = try await client.execute(
                uri: "/api/control/add", method: .post, headers: .json, body: ByteBuffer(string: #"{"node_id":"node5"}"#))
            #expect(response.status == .created)
            let node = try #require(try object(response)["node"] as? [String: Any])
            // The next free slot after the three founders: base + 30 unless something else
            // took one of those ports meanwhile (tests run in parallel), then a later slot.
            let apiPort = try #require(node["api_port"] as? Int)
            #expect(apiPort >= launcher.basePort + 30 && (apiPort - launcher.basePort) % 10 == 0)
            #expect(node["raft_port"] as? Int == apiPort + 1)
            #expect(node["state"] as? String == "running")
            let again = try await client.execute(
                uri: "/api/control/add", method: .post, headers: .json, body: ByteBuffer(string: #"{"node_id":"node5"}"#))
            #expect(again.status == .conflict)
            // Without a name the launcher picks one.
            let unnamed = try await client.execute(uri: "/api/control/add", method: .post, headers: .json)
            #expect(unnamed.status == .created)
            let second = try #require(try object(unnamed)["node"] as? [String: Any])
            #expect(second["id"] as? String == "node6")  // node5 is taken, so the next free nodeN
            let secondPort = try #require(second["api_port"] as? Int)
            #expect(secondPort > apiPort && (secondPort - launcher.basePort) % 10 == 0)
        }
        #expect(await eventually { launcher.log(of: "node5").contains("--join 127.0.0.1:\(launcher.basePort)") })
        let config = try #require(try ClusterConfigStore(dataDirectory: launcher.dataDirectory).load())
        #expect(config.nodes.count == 5)
        #expect(config.node(NodeID("node5")!)?.founder == false)
        await launcher.stop()
    }

    @Test func losingQuorumNeedsForce() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            let preview = try await client.execute(uri: "/api/control/quorum/stop/node1", method: .get)
            #expect(try object(preview)["message"] as? String == "2 of 3 voters stay up: writes continue.")
            #expect(try await client.execute(uri: "/api/control/stop/node1", method: .post, headers: .json).status == .ok)
            await launcher.monitor.pollOnce()

            let refused = try await client.execute(uri: "/api/control/kill/node2", method: .post, headers: .json)
            #expect(refused.status == .conflict)
            let body = try object(refused)
            #expect(body["needs_force"] as? Bool == true)
            #expect((body["error"] as? String)?.contains("1 of 3 voters stay up") == true)
            #expect(await launcher.supervisor.snapshot().record(NodeID("node2")!).state == .running)

            let forced = try await client.execute(uri: "/api/control/kill/node2?force=true", method: .post, headers: .json)
            #expect(forced.status == .ok)
            let node = try #require(try object(forced)["node"] as? [String: Any])
            #expect(node["state"] as? String == "crashed")
            #expect(node["exit_signal"] as? Int == 9)
            #expect(node["status"] as? String == "offline")
            #expect(node["pid"] is NSNull, "unknown fields are null, never missing")

            // Starting needs no confirmation; a stopped node's stop is a no-op.
            #expect(try await client.execute(uri: "/api/control/start/node1", method: .post, headers: .json).status == .ok)
            let noop = try await client.execute(uri: "/api/control/stop/node2", method: .post, headers: .json)
            #expect(try object(noop)["message"] as? String == "node2 was not running")
        }
        await launcher.stop()
    }

    @Test func pauseResumeAndRestart() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            let paused = try await client.execute(uri: "/api/control/pause/node3", method: .post, headers: .json)
            #expect(try object(paused)["node"].flatMap { ($0 as? [String: Any])?["state"] as? String } == "paused")
            await launcher.monitor.pollOnce()
            #expect(await launcher.monitor.onlineNodes().contains(NodeID("node3")!) == false)
            #expect(try await client.execute(uri: "/api/control/resume/node3", method: .post, headers: .json).status == .ok)
            #expect(await launcher.monitor.onlineNodes().contains(NodeID("node3")!))
            #expect(try await client.execute(uri: "/api/control/resume/node3", method: .post, headers: .json).status == .conflict)

            let before = await launcher.supervisor.snapshot().record(NodeID("node2")!).pid
            let restarted = try await client.execute(uri: "/api/control/restart/node2", method: .post, headers: .json)
            #expect(restarted.status == .ok)
            let after = await launcher.supervisor.snapshot().record(NodeID("node2")!).pid
            #expect(after != nil && after != before)
        }
        await launcher.stop()
    }

    @Test func deleteRemovesThroughTheLeaderThenStopsAndDeletesData() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            _ = try await client.execute(uri: "/api/control/add", method: .post, headers: .json, body: ByteBuffer(string: #"{"node_id":"node4"}"#))
            await launcher.monitor.pollOnce()
            #expect(await launcher.monitor.isMember(NodeID("node4")!))
            let directory = launcher.dataDirectory.appendingPathComponent("node4").path
            #expect(FileManager.default.fileExists(atPath: directory))

            let response = try await client.execute(uri: "/api/control/delete/node4", method: .post, headers: .json)
            #expect(response.status == .ok)
            #expect(launcher.cluster.removeCalls.map(\.id) == ["node4"])
            #expect(launcher.cluster.removeCalls.first?.port == launcher.basePort)  // node1 leads
            #expect(!FileManager.default.fileExists(atPath: directory))
            let nodes = try #require(try json(try await client.execute(uri: "/api/control/nodes", method: .get)) as? [[String: Any]])
            #expect(nodes.map { $0["id"] as? String } == ["node1", "node2", "node3"])

            // A stopped voter is removed through the leader too.
            #expect(try await client.execute(uri: "/api/control/stop/node3", method: .post, headers: .json).status == .ok)
            await launcher.monitor.pollOnce()
            #expect(try await client.execute(uri: "/api/control/delete/node3", method: .post, headers: .json).status == .ok)
            #expect(launcher.cluster.removeCalls.map(\.id) == ["node4", "node3"])
        }
        let config = try #require(try ClusterConfigStore(dataDirectory: launcher.dataDirectory).load())
        #expect(config.nodes.map(\.id.rawValue) == ["node1", "node2"])
        await launcher.stop()
    }

    @Test func aNodeNoLeaderEverListedIsDeletedWithoutARemoval() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        // Reserved and started, but deleted before any poll could see it join.
        _ = try await launcher.supervisor.addNode(NodeID("ghost")!)
        #expect(await launcher.monitor.knowsMembership())
        #expect(await !launcher.monitor.isMember(NodeID("ghost")!))
        try await launcher.controller.delete("ghost", force: false)
        #expect(launcher.cluster.removeCalls.isEmpty)
        #expect(await launcher.supervisor.snapshot().config.node(NodeID("ghost")!) == nil)
        await launcher.stop()
    }

    @Test func logsReturnTheTail() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        #expect(await eventually { launcher.log(of: "node2").contains("fake-kv-node") })
        try await launcher.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/control/logs/node2?lines=5", method: .get)
            let lines = try #require(try object(response)["lines"] as? [String])
            #expect(!lines.isEmpty && lines.count <= 5)
            #expect(lines.contains { $0.contains("fake-kv-node --id node2") })
        }
        await launcher.stop()
    }

    @Test func aSecondStartResumesWithoutBootstrapping() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try TestLauncher(directory: directory)
        await first.start()
        // The leader seen by the monitor marks the cluster bootstrapped.
        #expect(try ClusterConfigStore(dataDirectory: first.dataDirectory).load()?.bootstrapped == true)
        _ = try await first.controller.add("extra")
        await first.stop()

        let second = try TestLauncher(directory: directory, basePort: first.basePort)
        await second.start()
        let config = await second.supervisor.snapshot().config
        #expect(config.nodes.map(\.id.rawValue) == ["node1", "node2", "node3", "extra"])
        func starts(_ id: String) -> [String] {
            second.log(of: id).components(separatedBy: "\n").filter { $0.hasPrefix("fake-kv-node --id") }
        }
        #expect(await eventually { starts("node1").count == 2 && starts("extra").count == 2 })
        let node1 = starts("node1")
        #expect(node1.count == 2)
        #expect(node1[0].contains("--bootstrap"))
        #expect(!node1[1].contains("--bootstrap"))
        #expect(starts("extra").allSatisfy { $0.contains("--join 127.0.0.1:") })
        await second.stop()
    }
}
