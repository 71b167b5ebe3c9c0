import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

/// `GET /api/watch` and `/api/lease...` through the launcher (Docs/LAUNCHER.md, "Watching
/// through the launcher"), over `FakeCluster`'s watch streams and a real socket: the stream is
/// relayed as it happens, resumes with `Last-Event-ID`, ends when its node fails and lets go of
/// the node when the browser leaves.
@Suite struct WatchProxyTests {
    /// A write through the launcher, as the explorer's editor sends it.
    func put(_ port: Int, _ key: String, _ value: String) async throws -> RawHTTP.Reply {
        try await RawHTTP.send(port: port, method: "PUT", path: "/api/kv/" + key.replacingOccurrences(of: "/", with: "%2F"),
                               host: "localhost", headers: ["Content-Type": "application/json"], body: #"{"value":"\#(value)"}"#)
    }

    @Test func changesArriveWhileTheStreamStaysOpen() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.live) { client in
            let port = try #require(client.port)
            let stream = try RawStream(port: port, path: "/api/watch?prefix=app%2F&node=node2")
            // The server's shutdown waits for open answers: end the node's side too.
            defer { stream.close(); launcher.cluster.store.failWatchers() }
            #expect(try await stream.read(until: "event: progress"))
            #expect(stream.status == 200)
            #expect(stream.headers["content-type"] == "text/event-stream")
            #expect(stream.headers["x-kv-node"] == "node2")
            #expect(stream.body.hasPrefix("retry: 1000\n\n"))
            #expect(launcher.cluster.requests.last == "\(launcher.basePort + 10) GET /watch?prefix=app%2F")

            #expect(try await put(port, "other/1", "x").status == 200)
            #expect(try await put(port, "app/1", "one").status == 200)
            #expect(try await stream.read(until: #""key":"app/1""#))
            #expect(!stream.ended, "the stream is relayed as it comes, not collected until it ends")
            #expect(try await put(port, "app/1", "two").status == 200)
            #expect(try await stream.read(until: "id: 3\n"))
            #expect(stream.body.contains("event: put\ndata: {"))
            #expect(stream.body.contains(#""version":2"#))
            #expect(!stream.body.contains("other/1"))
            #expect(!stream.ended)
        }
        await launcher.stop()
    }

    @Test func lastEventIDGoesUpstreamAndResumesAfterIt() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.live) { client in
            let port = try #require(client.port)
            for (key, value) in [("k/a", "1"), ("k/b", "2"), ("k/c", "3")] { #expect(try await put(port, key, value).status == 200) }
            let stream = try RawStream(port: port, path: "/api/watch?prefix=k%2F&start_revision=0", headers: ["Last-Event-ID": "1"])
            defer { stream.close(); launcher.cluster.store.failWatchers() }
            #expect(try await stream.read(until: "id: 3\n"))
            #expect(launcher.cluster.store.watchRequests.last?.headers["Last-Event-ID"] == "1")
            #expect(launcher.cluster.store.watchRequests.last?.target == "/watch?prefix=k%2F&start_revision=0")
            #expect(!stream.body.contains("k/a"), "revision 1 was seen before the reconnect")
            #expect(stream.body.contains("k/b") && stream.body.contains("k/c"))
        }
        await launcher.stop()
    }

    @Test func aFailingNodeEndsTheStreamSoTheBrowserReconnects() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.live) { client in
            let port = try #require(client.port)
            let stream = try RawStream(port: port, path: "/api/watch?prefix=")
            defer { stream.close(); launcher.cluster.store.failWatchers() }
            #expect(try await stream.read(until: "event: progress"))
            #expect(!stream.ended)
            launcher.cluster.store.failWatchers()
            #expect(try await stream.read { $0.ended })
        }
        await launcher.stop()
    }

    @Test func theNodesStreamIsClosedWhenTheBrowserLeaves() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.live) { client in
            let port = try #require(client.port)
            let stream = try RawStream(port: port, path: "/api/watch?key=solo")
            defer { launcher.cluster.store.failWatchers() }
            #expect(try await stream.read(until: "event: progress"))
            #expect(launcher.cluster.store.activeWatchers == 1)
            stream.close()
            // The node's idle progress events are the writes that find the browser gone.
            let released = await eventually(timeout: .seconds(20)) {
                launcher.cluster.store.sendProgress()
                return launcher.cluster.store.activeWatchers == 0
            }
            #expect(released)
        }
        await launcher.stop()
    }

    @Test func refusalsComeBackAsTheyAre() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            for key in ["a", "b", "c"] {
                _ = try await client.execute(uri: "/api/kv/\(key)", method: .put, headers: .json, body: ByteBuffer(string: #"{"value":"v"}"#))
            }
            launcher.cluster.store.compact(2)
            let compacted = try await client.execute(uri: "/api/watch?prefix=&start_revision=1", method: .get)
            #expect(compacted.status == .gone)
            let body = try JSONSerialization.jsonObject(with: Data(buffer: compacted.body)) as? [String: Any]
            #expect(body?["error"] as? String == "compacted")
            #expect(body?["compact_revision"] as? Int == 2)
            #expect(compacted.headers[HTTPField.Name("X-KV-Node")!] == "node1")

            let asked = launcher.cluster.store.watchRequests.count
            for (uri, headers) in [
                ("/api/watch?key=a&prefix=a", HTTPFields()), ("/api/watch?prefix=&start_revision=-1", [:]),
                ("/api/watch?prefix=&start_revision=1%0D%0AX:%201", [:]), ("/api/watch?key=", [:]),
                ("/api/watch?prefix=", [HTTPField.Name("Last-Event-ID")!: "abc"]), ("/api/watch?prefix=&node=..%2Fx", [:]),
                ("/api/watch?prefix=&consistency=eventual", [:]),
            ] as [(String, HTTPFields)] {
                let refused = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(refused.status == .badRequest, "\(uri)")
            }
            #expect(launcher.cluster.store.watchRequests.count == asked, "a bad request never reaches a node")

            try await launcher.supervisor.kill(NodeID("node3")!)
            await launcher.monitor.pollOnce()
            let down = try await client.execute(uri: "/api/watch?prefix=&node=node3", method: .get)
            #expect(down.status == .serviceUnavailable)
        }
        await launcher.stop()
    }

    @Test func leasesAndKeyFieldsPassThrough() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        launcher.cluster.store.grantLease("7", ttl: 30, remaining: 21)
        try await launcher.application().test(.router) { client in
            func object(_ response: TestResponse) throws -> [String: Any] {
                try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            let all = try object(try await client.execute(uri: "/api/lease", method: .get))
            #expect((all["leases"] as? [[String: Any]])?.first?["remaining_seconds"] as? Int == 21)

            let attached = try await client.execute(uri: "/api/kv/svc%2Fa?lease=7", method: .put, headers: .json,
                                                    body: ByteBuffer(string: #"{"value":"up"}"#))
            #expect(attached.status == .ok)
            #expect(launcher.cluster.requests.last?.hasSuffix("PUT /kv/svc%2Fa?lease=7") == true)
            let one = try await client.execute(uri: "/api/lease/7", method: .get)
            #expect(try object(one)["keys"] as? [String] == ["svc/a"])
            #expect(try await client.execute(uri: "/api/lease/8", method: .get).status == .notFound)
            let before = launcher.cluster.requests.count
            for bad in ["abc", "7%2F..%2F..%2Fkv", "-1", "99999999999999999999999"] {
                #expect(try await client.execute(uri: "/api/lease/\(bad)", method: .get).status == .badRequest, "\(bad)")
            }
            #expect(try await client.execute(uri: "/api/kv/x?lease=nope", method: .put, headers: .json,
                                             body: ByteBuffer(string: #"{"value":"v"}"#)).status == .badRequest)
            #expect(launcher.cluster.requests.count == before)

            let get = try await client.execute(uri: "/api/kv/svc%2Fa", method: .get)
            let fields = try object(get)
            #expect(fields["create_revision"] as? Int == 1 && fields["version"] as? Int == 1 && fields["lease"] as? String == "7")
            #expect(get.headers[.eTag] == "\"1\"")
            #expect(get.headers[HTTPField.Name("X-KV-Revision")!] == "1")

            // A conditional write: the node's 412 comes back with the key's current revision.
            let stale = try await client.execute(uri: "/api/kv/svc%2Fa?if_revision=0", method: .put, headers: .json,
                                                 body: ByteBuffer(string: #"{"value":"again"}"#))
            #expect(stale.status == .preconditionFailed)
            #expect(try object(stale)["revision"] as? Int == 1)
            let fresh = try await client.execute(uri: "/api/kv/svc%2Fa?if_revision=1", method: .put, headers: .json,
                                                 body: ByteBuffer(string: #"{"value":"again"}"#))
            #expect(fresh.status == .ok)
            let gone = try await client.execute(uri: "/api/kv/svc%2Fa?if_revision=1", method: .delete, headers: .json)
            #expect(gone.status == .preconditionFailed)

            // The listing carries every field and the revision it was read at.
            _ = try await client.execute(uri: "/api/kv/svc%2Fb", method: .put, headers: .json, body: ByteBuffer(string: #"{"value":"b"}"#))
            let page = try object(try await client.execute(uri: "/api/kv?prefix=svc%2F", method: .get))
            #expect(page["revision"] as? Int == 3)
            let items = try #require(page["items"] as? [[String: Any]])
            #expect(items.map { $0["key"] as? String } == ["svc/a", "svc/b"])
            #expect(items.map { $0["version"] as? Int } == [2, 1])
            #expect(items.map { $0["create_revision"] as? Int } == [1, 3])
            #expect(items.first?["value"] as? String == "again")
            #expect(items.first?["lease"] == nil, "a put without lease= detached the key")
        }
        await launcher.stop()
    }
}
