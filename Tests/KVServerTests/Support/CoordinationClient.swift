import Foundation
import HTTPTestSupport

/// The coordination calls of the node API (Docs/API.md: conditional writes, transactions,
/// watch, compaction, leases) as the tests use them, returning raw replies.
extension NodeHTTPClient {
    /// `PUT /kv/{key}` with any of the condition headers (`If-Match`, `If-None-Match`) and a
    /// query such as `"lease=42"` or `"if_revision=0"`.
    func put(_ key: String, _ value: String, headers: [String: String], query: String = "") async throws -> HTTPReply {
        try await HTTP.send("PUT", "\(base)/kv/\(key)\(query.isEmpty ? "" : "?\(query)")", body: HTTP.json(["value": value]),
                            headers: headers)
    }

    func delete(_ key: String, headers: [String: String]) async throws -> HTTPReply {
        try await HTTP.send("DELETE", "\(base)/kv/\(key)", headers: headers)
    }

    /// `POST /txn` with `body` (compare/success/failure as JSON objects).
    func txn(_ body: [String: Any], idempotencyKey: String? = nil) async throws -> HTTPReply {
        try await HTTP.send("POST", "\(base)/txn", body: HTTP.jsonValue(body),
                            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
    }

    func compact(_ revision: Int) async throws -> HTTPReply {
        try await HTTP.send("POST", "\(base)/compact", body: HTTP.jsonValue(["revision": revision]))
    }

    func grantLease(ttlSeconds: Int) async throws -> HTTPReply {
        try await HTTP.send("POST", "\(base)/lease", body: HTTP.jsonValue(["ttl_seconds": ttlSeconds]))
    }

    /// No body, but the JSON content type every POST must declare (Docs/API.md, "Cross-site requests").
    func keepAlive(_ id: String) async throws -> HTTPReply {
        try await HTTP.send("POST", "\(base)/lease/\(id)/keepalive", headers: ["Content-Type": "application/json"],
                            timeout: .seconds(10))
    }

    func lease(_ id: String) async throws -> HTTPReply {
        try await HTTP.send("GET", "\(base)/lease/\(id)")
    }

    /// The URL of `GET /watch` with `query` (e.g. `"prefix=w/&start_revision=7"`).
    func watchURL(_ query: String) -> String { "\(base)/watch?\(query)" }

    /// Sends a request until it gets an answer that is not a 503 or a lost connection,
    /// reusing one Idempotency-Key, so a write that took several attempts applied once and
    /// its answer is the first one (Docs/API.md, "Idempotency-Key").
    func untilAnswered(_ what: String, timeout: Duration = .seconds(30),
                       _ request: (_ idempotencyKey: String) async throws -> HTTPReply) async throws -> HTTPReply {
        let idempotencyKey = UUID().uuidString
        return try await eventually("\(what) via \(base) to be answered", timeout: timeout, every: .milliseconds(100)) {
            let reply = try await request(idempotencyKey)
            if reply.status == 503 { throw NotYet("\(reply)") }
            return reply
        }
    }
}

extension HTTP {
    /// A JSON body from any JSON-compatible value (nested arrays, numbers).
    static func jsonValue(_ value: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
    }
}

extension HTTPReply {
    /// An integer field of the JSON body.
    func int(_ field: String) -> Int? { object?[field] as? Int }
    /// The store revision the reply was served at (`X-KV-Revision`).
    var storeRevision: Int? { header("X-KV-Revision").flatMap { Int($0) } }
}
