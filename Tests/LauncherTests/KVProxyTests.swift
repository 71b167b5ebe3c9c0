import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

@Suite struct KVProxyTests {
    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test func putGetDeleteThroughTheLauncher() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            let put = try await client.execute(
                uri: "/api/kv/user%2F1?node=node2", method: .put, headers: .json, body: ByteBuffer(string: #"{"value":"{\"name\":\"ada\"}"}"#))
            #expect(put.status == .ok)
            #expect(put.headers[HTTPField.Name("X-KV-Node")!] == "node2")
            #expect(try object(put)["revision"] as? Int == 1)
            #expect(launcher.cluster.requests.last == "\(launcher.basePort + 10) PUT /kv/user%2F1")

            let get = try await client.execute(uri: "/api/kv/user%2F1?consistency=stale&node=node3", method: .get)
            #expect(try object(get)["value"] as? String == #"{"name":"ada"}"#)
            #expect(launcher.cluster.requests.last == "\(launcher.basePort + 20) GET /kv/user%2F1?consistency=stale")

            let missing = try await client.execute(uri: "/api/kv/nothing", method: .get)
            #expect(missing.status == .notFound)
            // Default target is the leader.
            #expect(missing.headers[HTTPField.Name("X-KV-Node")!] == "node1")

            let deleted = try await client.execute(uri: "/api/kv/user%2F1", method: .delete, headers: .json)
            #expect(try object(deleted)["deleted"] as? Bool == true)

            let bad = try await client.execute(uri: "/api/kv/x?consistency=eventual", method: .get)
            #expect(bad.status == .badRequest)
            let badNode = try await client.execute(uri: "/api/kv/x?node=..%2Fx", method: .get)
            #expect(badNode.status == .badRequest)
        }
        await launcher.stop()
    }

    @Test func listingPagesInByteOrderWithRevisions() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            for key in ["b", "a/2", "a/1", "a/3", "c"] {
                _ = try await client.execute(uri: "/api/kv/\(key.replacingOccurrences(of: "/", with: "%2F"))", method: .put, headers: .json,
                    body: ByteBuffer(string: #"{"value":"v-\#(key)"}"#))
            }
            let first = try object(try await client.execute(uri: "/api/kv?prefix=a%2F&limit=2", method: .get))
            let items = try #require(first["items"] as? [[String: Any]])
            #expect(items.map { $0["key"] as? String } == ["a/1", "a/2"])
            #expect(items.map { $0["revision"] as? Int } == [3, 2])
            #expect(first["has_more"] as? Bool == true)
            #expect(first["next"] as? String == "a/2")
            #expect(first["node"] as? String == "node1")

            let second = try object(try await client.execute(uri: "/api/kv?prefix=a%2F&limit=2&start_after=a%2F2&consistency=stale", method: .get))
            #expect((second["items"] as? [[String: Any]])?.map { $0["key"] as? String } == ["a/3"])
            #expect(second["has_more"] as? Bool == false)
            #expect(second["consistency"] as? String == "stale")
        }
        await launcher.stop()
    }

    @Test func noAnsweringNodeIs503() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        // Nothing started.
        await launcher.monitor.pollOnce()
        try await launcher.application().test(.router) { client in
            let list = try await client.execute(uri: "/api/kv", method: .get)
            #expect(list.status == .serviceUnavailable)
            let named = try await client.execute(uri: "/api/kv/a?node=node2", method: .get)
            #expect(named.status == .serviceUnavailable)
        }
    }
}
