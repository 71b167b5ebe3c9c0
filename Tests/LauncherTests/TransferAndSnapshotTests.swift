import Foundation
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

/// "Make leader" (`POST /api/control/transfer-leader/{id}`) and "Download snapshot"
/// (`GET /api/snapshot`) over the scripted `FakeCluster`.
@Suite struct TransferAndSnapshotTests {
    @Test func makeLeaderAsksTheLeaderAndAnswersOnceTheTargetLeads() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            await launcher.monitor.pollOnce()
            let response = try await client.execute(uri: "/api/control/transfer-leader/node2", method: .post, headers: .json)
            #expect(response.status == .ok)
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(answer["message"] as? String == "node2 now leads the cluster (term 2)")
            #expect((answer["node"] as? [String: Any])?["is_leader"] as? Bool == true)
            #expect(launcher.cluster.requests.contains("\(launcher.basePort) POST /cluster/transfer-leader"),
                    "asked node1, the leader: \(launcher.cluster.requests)")

            #expect(try await client.execute(uri: "/api/control/transfer-leader/node9", method: .post, headers: .json).status
                    == .notFound)
            #expect(try await client.execute(uri: "/api/control/transfer-leader/bad%20id", method: .post, headers: .json).status
                    == .badRequest)
            #expect(try await client.execute(uri: "/api/control/stop/node3", method: .post, headers: .json).status == .ok)
            let refused = try await client.execute(uri: "/api/control/transfer-leader/node3", method: .post, headers: .json)
            #expect(refused.status == .conflict, "the leader's 409 is passed on")
        }
        await launcher.stop()
    }

    @Test func downloadSnapshotRelaysTheLeadersFileNamedByItsRevision() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            await launcher.monitor.pollOnce()
            let response = try await client.execute(uri: "/api/snapshot", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/octet-stream")
            #expect(response.headers[.contentDisposition] == "attachment; filename=\"kv-snapshot-\(launcher.cluster.store.revision).snap\"")
            #expect(String(buffer: response.body) == FakeCluster.snapshotBytes)
            #expect(launcher.cluster.requests.contains("\(launcher.basePort) GET /snapshot"))
            #expect(try await client.execute(uri: "/api/snapshot?node=node9", method: .get).status == .notFound)
        }
        await launcher.stop()
    }
}
