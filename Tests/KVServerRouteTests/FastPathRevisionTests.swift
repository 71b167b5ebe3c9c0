import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KVServer

import NodeRuntime
import RuntimeTestSupport
import Testing

/// kv-node's whole HTTP server over a socket: plain single-key requests are answered by
/// `KVFastPathHandler`, conditional ones by the routes behind it; both carry the revision
/// headers (Docs/API.md, "Revisions").
@Suite struct FastPathRevisionTests {
    static func withServer(_ body: @Sendable (any TestClientProtocol, RuntimeNode) async throws -> Void) async throws {
        try await withRuntimeCluster(voters: 1) { cluster in
            let node = try await cluster.leader()
            let router = NodeServer.router(runtime: node.runtime, store: node.store, metrics: node.metrics,
                                           maxPageBytes: NodeOptions.defaultMaxPageBytes)
            let server = NodeServer.httpServer(operations: KVOperations(runtime: node.runtime, store: node.store),
                                               metrics: node.metrics, connections: .init(maximum: 64), idleTimeout: .seconds(30))
            let app = Application(router: router, server: server,
                                  configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0),
                                                                          serverName: NodeServer.name))
            try await app.test(.live) { client in try await body(client, node) }
        }
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func fastPathAnswersCarryXKVRevisionAndGetCarriesTheETag() async throws {
        try await Self.withServer { client, node in
            let name = try #require(HTTPField.Name("X-KV-Revision"))
            let put = try await client.execute(uri: "/kv/fast", method: .put, headers: Self.json,
                                               body: ByteBuffer(string: #"{"value":"v"}"#))
            #expect(put.status == .ok)
            let written = try #require((try JSONSerialization.jsonObject(with: Data(buffer: put.body)) as? [String: Any])?["revision"] as? Int)
            let putHeader = try #require(put.headers[name].flatMap { UInt64($0) })
            #expect(putHeader >= UInt64(written))
            #expect(put.headers[.eTag] == nil)

            for uri in ["/kv/fast", "/kv/fast?consistency=stale"] {
                let get = try await client.execute(uri: uri, method: .get)
                #expect(get.status == .ok, "\(uri)")
                #expect(get.headers[.eTag] == "\"\(written)\"", "\(uri): \(get.headers)")
                #expect(get.headers[name].flatMap { UInt64($0) }.map { $0 >= UInt64(written) } == true, "\(uri)")
                let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: get.body)) as? [String: Any])
                #expect(body["create_revision"] as? Int == written)
                #expect(body["version"] as? Int == 1)
            }
            let missing = try await client.execute(uri: "/kv/absent", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.headers[name] != nil)
            #expect(missing.headers[.eTag] == nil)
            let delete = try await client.execute(uri: "/kv/absent", method: .delete)
            #expect(delete.headers[name].flatMap { UInt64($0) }.map { $0 >= UInt64(written) } == true)
            #expect(node.store.stateMachine.revision >= UInt64(written))
        }
    }

    @Test func conditionalRequestsOverTheSocketReachTheRoutes() async throws {
        try await Self.withServer { client, _ in
            let name = try #require(HTTPField.Name("X-KV-Revision"))
            let first = try await client.execute(uri: "/kv/c", method: .put, headers: Self.json, body: ByteBuffer(string: #"{"value":"1"}"#))
            let etag = try #require(try await client.execute(uri: "/kv/c", method: .get).headers[.eTag])
            var conditional = Self.json
            conditional[.ifMatch] = etag
            let second = try await client.execute(uri: "/kv/c", method: .put, headers: conditional, body: ByteBuffer(string: #"{"value":"2"}"#))
            #expect(second.status == .ok)
            // The same tag again: the key has moved on.
            let stale = try await client.execute(uri: "/kv/c", method: .put, headers: conditional, body: ByteBuffer(string: #"{"value":"3"}"#))
            #expect(stale.status == .preconditionFailed, "\(String(buffer: stale.body))")
            #expect(stale.headers[name] != nil)
            var create = Self.json
            create[.ifNoneMatch] = "*"
            let exists = try await client.execute(uri: "/kv/c", method: .delete, headers: [.ifNoneMatch: "*"])
            #expect(exists.status == .preconditionFailed)
            let fresh = try await client.execute(uri: "/kv/c2", method: .put, headers: create, body: ByteBuffer(string: #"{"value":"n"}"#))
            #expect(fresh.status == .ok)

            let revision = try #require((try JSONSerialization.jsonObject(with: Data(buffer: first.body)) as? [String: Any])?["revision"] as? Int)
            let past = try await client.execute(uri: "/kv/c?revision=\(revision)", method: .get)
            #expect(past.status == .ok)
            #expect((try JSONSerialization.jsonObject(with: Data(buffer: past.body)) as? [String: Any])?["value"] as? String == "1")
            #expect(past.headers[.eTag] == "\"\(revision)\"")
            let current = try await client.execute(uri: "/kv/c?consistency=stale", method: .get)
            #expect((try JSONSerialization.jsonObject(with: Data(buffer: current.body)) as? [String: Any])?["value"] as? String == "2")
        }
    }
}
