import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KVServer
import NodeRuntime
import RuntimeTestSupport
import Testing

/// kv-node's router, driven without sockets (HummingbirdTesting's `.router` mode) over a real
/// single-node runtime.
///
/// kv-node answers PUT, GET and DELETE of one key in `KVFastPathHandler`, a NIO handler in
/// front of Hummingbird, and only the rest reaches this router. Both paths call the same
/// `KVOperations` and write the same `KVReply`, so what these tests show for single keys
/// holds for both; the fast path's own parsing is covered by the process tests
/// (Tests/KVServerTests).
struct RouteHarness {
    let client: any TestClientProtocol
    let node: RuntimeNode

    /// `authenticator` stands for `--auth-file`: nil serves everyone, as kv-node without it.
    static func with(maxPageBytes: Int = NodeOptions.defaultMaxPageBytes, authenticator: ClientAuthenticator? = nil,
                     _ body: @Sendable (RouteHarness) async throws -> Void) async throws {
        try await withRuntimeCluster(voters: 1) { cluster in
            let node = try await cluster.leader()
            let router = NodeServer.router(runtime: node.runtime, store: node.store, metrics: node.metrics,
                                           maxPageBytes: maxPageBytes, authenticator: authenticator)
            let app = Application(router: router,
                                  configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0),
                                                                          serverName: NodeServer.name))
            try await app.test(.router) { client in try await body(RouteHarness(client: client, node: node)) }
        }
    }

    /// A body goes out as `Content-Type: application/json`, as every client of the API sends
    /// it (Docs/API.md, "Cross-site requests"), unless `headers` names another type.
    func request(_ method: HTTPRequest.Method, _ uri: String, json: [String: Any]? = nil,
                 headers: HTTPFields = [:]) async throws -> TestResponse {
        let body = try json.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        return try await client.execute(uri: uri, method: method, headers: body == nil ? headers : Self.json(headers), body: body)
    }

    func request(_ method: HTTPRequest.Method, _ uri: String, raw: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: Self.json(headers), body: ByteBuffer(string: raw))
    }

    private static func json(_ headers: HTTPFields) -> HTTPFields {
        var fields = headers
        if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        return fields
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object, or nil when it is not one.
    var object: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }

    /// True when the body has the one error shape the API uses: `{"error": "..."}`.
    var isErrorDocument: Bool {
        guard let object, object.count == 1, let message = object["error"] as? String else { return false }
        return !message.isEmpty && headers[.contentType] == "application/json"
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let nextStartAfter = HTTPField.Name("X-Next-Start-After")!
}
