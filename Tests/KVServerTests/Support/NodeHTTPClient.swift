import ClusterAPI
import Foundation
import HTTPTestSupport

/// The node's HTTP API as the tests use it: one method per call shape, returning the raw
/// reply so each test can check status codes and headers itself.
struct NodeHTTPClient: Sendable {
    var base: String

    func put(_ key: String, _ value: String, idempotencyKey: String? = nil) async throws -> HTTPReply {
        try await HTTP.send("PUT", "\(base)/kv/\(key)", body: HTTP.json(["value": value]),
                            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    }

    func get(_ key: String, stale: Bool = false) async throws -> HTTPReply {
        try await HTTP.send("GET", "\(base)/kv/\(key)\(stale ? "?consistency=stale" : "")")
    }

    func delete(_ key: String, idempotencyKey: String? = nil) async throws -> HTTPReply {
        try await HTTP.send("DELETE", "\(base)/kv/\(key)", headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    }

    /// `GET /kv` with optional query, e.g. `"prefix=a&limit=2"`.
    func list(_ query: String = "") async throws -> HTTPReply {
        try await HTTP.send("GET", "\(base)/kv\(query.isEmpty ? "" : "?\(query)")")
    }

    /// All pairs under `prefix` as a dictionary (non-200 throws).
    func pairs(prefix: String, stale: Bool = false) async throws -> [String: String] {
        let reply = try await list("prefix=\(prefix)\(stale ? "&consistency=stale" : "")")
        guard reply.status == 200, let object = reply.object as? [String: String] else { throw NotYet("GET /kv: \(reply)") }
        return object
    }

    func status() async throws -> NodeStatus {
        let reply = try await HTTP.send("GET", "\(base)/cluster/status", timeout: .seconds(5))
        guard reply.status == 200 else { throw NotYet("status: \(reply)") }
        // The shared type names its snake_case keys itself, so no key strategy here.
        return try JSONDecoder().decode(NodeStatus.self, from: reply.body)
    }

    func post(_ path: String, _ body: [String: String]) async throws -> HTTPReply {
        try await HTTP.send("POST", "\(base)\(path)", body: HTTP.json(body))
    }

    // MARK: Retrying forms, for moments when the cluster may be between leaders

    /// Writes until acknowledged. Retries of 503s and lost connections reuse one
    /// Idempotency-Key, so the write applies once however many attempts it takes.
    /// Returns the revision.
    @discardableResult
    func putAcknowledged(_ key: String, _ value: String, timeout: Duration = .seconds(30)) async throws -> UInt64 {
        let idempotencyKey = UUID().uuidString
        return try await eventually("PUT \(key) to be acknowledged via \(base)", timeout: timeout, every: .milliseconds(100)) {
            let reply = try await put(key, value, idempotencyKey: idempotencyKey)
            if reply.status == 503 { throw NotYet("\(reply)") }
            guard reply.status == 200, let revision = reply.object?["revision"] as? Int else {
                throw Unexpected("PUT \(key): \(reply)")
            }
            return UInt64(revision)
        }
    }

    /// A linearizable GET, retried only while the node answers 503 (no quorum yet): any
    /// 200 or 404 is returned as it is, so a stale answer is never hidden by a retry.
    func linearizableGet(_ key: String, timeout: Duration = .seconds(30)) async throws -> HTTPReply {
        try await eventually("a linearizable GET \(key) via \(base)", timeout: timeout, every: .milliseconds(100)) {
            let reply = try await get(key)
            if reply.status == 503 { throw NotYet("\(reply)") }
            return reply
        }
    }
}
