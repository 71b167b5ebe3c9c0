import Foundation
import Launcher
import Logging
import NIOCore
import Testing

/// `kv-launcher --tls` end to end with a real kv-node (the one built beside the tests): the
/// supervisor starts it with peer TLS and HTTPS on its API from the launcher's certificates,
/// and `HTTPNodeAPI` reaches it only when it trusts the cluster CA.
@Suite(.timeLimit(.minutes(2))) struct NodeHTTPSTests {
    @Test func aNodeStartedWithTLSServesHTTPSThatTheLauncherTrusts() async throws {
        let kvNode = KVNodeLocator.executableDirectory().appendingPathComponent("kv-node").path
        try #require(FileManager.default.isExecutableFile(atPath: kvNode), "build kv-node first: \(kvNode)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let dataDirectory = directory.url.appendingPathComponent("data")
        let plan = PortPlan(basePort: TestLauncher.freeBasePort())
        let config = ClusterConfig.initial(count: 1, plan: plan)
        try ClusterConfigStore(dataDirectory: dataDirectory).save(config)
        let certificates = try ClusterCertificates.loadOrCreate(dataDirectory: dataDirectory).0
        var logger = Logger(label: "launcher-tests")
        logger.logLevel = .warning
        let supervisor = Supervisor(
            dataDirectory: dataDirectory, executable: kvNode, plan: plan, config: config, events: EventHub(),
            logger: logger, stopTimeout: .seconds(5), certificates: certificates, servesHTTPS: true)
        let node = try #require(config.nodes.first)
        let trusting = try HTTPNodeAPI(trustedCAFile: certificates.authorityFile)
        let plain = try HTTPNodeAPI()
        // Another CA's certificate, to trust instead of the cluster's.
        let stranger = try TemporaryDirectory()
        defer { stranger.remove() }
        let strangerCA = try ClusterCertificates.loadOrCreate(dataDirectory: stranger.url).0.authorityFile
        let distrusting = try HTTPNodeAPI(trustedCAFile: strangerCA)

        do {
            try await supervisor.start(node.id, joinAddress: nil)
            let log = try String(contentsOfFile: await supervisor.logPath(for: node.id), encoding: .utf8)
            let paths = certificates.paths(for: node.id)
            #expect(log.contains("--cert-file \(paths.certificate) --key-file \(paths.key)"))
            #expect(log.contains("--peer-trusted-ca-file \(certificates.authorityFile)"))

            let leads = await eventually { (try? await trusting.status(apiPort: node.apiPort))?.leader == "node1" }
            #expect(leads, "node1 never answered over HTTPS as leader")
            let body = ByteBuffer(string: #"{"value":"over tls"}"#)
            let put = try await trusting.send(NodeRequest(method: "PUT", target: "/kv/secure", body: body), apiPort: node.apiPort)
            #expect(put.status == 200)
            let get = try await trusting.send(NodeRequest(method: "GET", target: "/kv/secure"), apiPort: node.apiPort)
            #expect(String(buffer: get.body).contains("over tls"))

            await #expect(throws: NodeUnreachable.self) { try await plain.status(apiPort: node.apiPort) }
            await #expect(throws: NodeUnreachable.self) { try await distrusting.status(apiPort: node.apiPort) }
            // A node added later asks the HTTPS member for admission over HTTPS, trusting the CA.
            let added = try await supervisor.addNode(NodeID("node2")!)
            try await supervisor.start(added.id, joinAddress: "127.0.0.1:\(node.apiPort)")
            let addedLog = try String(contentsOfFile: await supervisor.logPath(for: added.id), encoding: .utf8)
            #expect(addedLog.contains("--join https://127.0.0.1:\(node.apiPort) --join-ca-file \(certificates.authorityFile)"))
            let joined = await eventually {
                let members = (try? await trusting.status(apiPort: node.apiPort))?.members.map(\.id) ?? []
                return Set(members) == ["node1", "node2"]
            }
            #expect(joined, "node2 never became a member through node1's HTTPS API")
        } catch {
            Issue.record(error)
        }
        await supervisor.stopAll()
        for api in [trusting, plain, distrusting] { await api.shutdown() }
    }
}
