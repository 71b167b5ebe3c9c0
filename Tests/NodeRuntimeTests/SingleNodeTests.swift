import Foundation
import KVStore
import Logging
import NodeRuntime
import RaftCore
import Testing
import Transport

/// One runtime in this process, on a real store and a loopback transport: the smallest
/// cluster elects itself, and a write it acknowledges is what a linearizable read sees.
@Suite struct SingleNodeTests {
    @Test func aLoneVoterLeadsAndServesItsOwnWrites() async throws {
        let directory = NSTemporaryDirectory() + "node-runtime-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try DurableStore(directory: directory)
        defer { store.close() }
        let id = NodeID("solo")
        let transport = try await RaftTransport.start(
            configuration: TransportConfiguration(localID: id, clusterID: "test", host: "127.0.0.1", port: 0))
        let address = MemberAddress(raft: HostPort(host: "127.0.0.1", port: transport.port ?? 0),
                                    api: HostPort(host: "127.0.0.1", port: 1))
        _ = try await NodeRuntime.bootstrapIfEmpty(store: store, voters: [(id, address)])
        var config = RuntimeConfig(id: id, address: address)
        config.clusterID = "test"
        let runtime = try NodeRuntime(config: config, store: store, transport: transport,
                                      logger: Logger(label: "test"))
        await runtime.start()

        let put = try await runtime.submit(.put("greeting", Array("hello".utf8)))
        try await runtime.linearizableBarrier()
        let record = try store.stateMachine.get("greeting")
        #expect(record?.value == Array("hello".utf8))
        #expect(record?.revision == put.revision)
        #expect(await runtime.isLeader)

        await runtime.stop()
        await transport.shutdown()
    }
}
