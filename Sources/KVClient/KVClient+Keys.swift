import ClusterAPI
import Foundation

/// Single keys, listings and prefix deletes (Docs/API.md, "Keys and values").
extension KVClient {
    /// The node's limit on a key's UTF-8 length.
    static let maxKeyBytes = 511

    /// The key as it is now (or was at `revision`); nil when it does not exist.
    ///
    /// - Throws: ``KVClientError/compacted(compactRevision:)`` when `revision` lies below the
    ///   retained history; ``KVClientError/invalidArgument(_:)`` for an empty key or one over
    ///   511 bytes.
    public func get(_ key: String, revision: UInt64? = nil, consistency: ReadConsistency? = nil) async throws -> KeyValue? {
        try Self.checkKey(key)
        let query = PercentEncoding.query([
            ("revision", revision.map(String.init)),
            ("consistency", consistencyParameter(consistency)),
        ])
        return try await exchange(.read("/kv/\(PercentEncoding.encode(key))\(query)")) { answer in
            if answer.status == 404 {
                _ = try? await self.collectBody(answer, limit: 64 * 1024)
                return nil
            }
            return try await self.decode(KeyValue.self, from: answer, key: key)
        }
    }

    /// Writes `value`. With `ifRevision`, only if the key's revision is that (0: only if the key
    /// does not exist), else ``KVClientError/preconditionFailed(key:currentRevision:)``.
    /// With `lease`, the key is deleted when the lease ends; without, it is detached from any.
    @discardableResult
    public func put(_ key: String, _ value: String, ifRevision: UInt64? = nil, lease: UInt64? = nil) async throws -> PutResult {
        try Self.checkKey(key)
        let query = PercentEncoding.query([("if_revision", ifRevision.map(String.init)), ("lease", lease.map(String.init))])
        let body = try APIRequest.json(["value": value])
        return try await call(.write(.PUT, "/kv/\(PercentEncoding.encode(key))\(query)", body: body), as: PutResult.self, key: key)
    }

    /// Deletes the key (not an error when it does not exist: ``DeleteResult/deleted`` says).
    @discardableResult
    public func delete(_ key: String, ifRevision: UInt64? = nil) async throws -> DeleteResult {
        try Self.checkKey(key)
        let query = PercentEncoding.query([("if_revision", ifRevision.map(String.init))])
        return try await call(.write(.DELETE, "/kv/\(PercentEncoding.encode(key))\(query)"), as: DeleteResult.self, key: key)
    }

    /// Deletes every key that starts with `prefix`, at one revision. An empty prefix is refused
    /// here as by the node: deleting everything takes an explicit prefix.
    @discardableResult
    public func deletePrefix(_ prefix: String) async throws -> DeletePrefixResult {
        guard !prefix.isEmpty else { throw KVClientError.invalidArgument("deleting by prefix needs a non-empty prefix") }
        try Self.checkKey(prefix)
        let query = PercentEncoding.query([("prefix", prefix)])
        return try await call(.write(.DELETE, "/kv\(query)"), as: DeletePrefixResult.self)
    }

    /// One page of the keys under `prefix` (all keys when empty), in byte order, after
    /// `startAfter`. Continue with the page's ``KeyPage/nextStartAfter`` until it is nil.
    public func list(prefix: String = "", limit: Int? = nil, startAfter: String? = nil,
                     consistency: ReadConsistency? = nil) async throws -> KeyPage {
        if let limit, !(1...10_000).contains(limit) { throw KVClientError.invalidArgument("limit must be 1 to 10000") }
        let query = PercentEncoding.query([
            ("prefix", prefix.isEmpty ? nil : prefix),
            ("limit", limit.map(String.init)),
            ("start_after", startAfter),
            ("consistency", consistencyParameter(consistency)),
        ])
        return try await exchange(.read("/kv\(query)")) { answer in
            let object = try await self.decode([String: String].self, from: answer)
            // JSON objects have no order once decoded: the node's order is byte order of the keys.
            let pairs = object.map { KeyValuePair(key: $0.key, value: $0.value) }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            var next: String?
            if let header = answer.header("X-Next-Start-After") {
                guard let key = PercentEncoding.decode(header) else {
                    throw KVClientError.invalidResponse("X-Next-Start-After \"\(header.prefix(100))\" is not percent-encoded UTF-8")
                }
                next = key
            }
            return KeyPage(pairs: pairs, nextStartAfter: next, revision: answer.header("X-KV-Revision").flatMap { UInt64($0) })
        }
    }

    /// Every key under `prefix`, page after page, up to `limit` pairs (nil: all of them).
    public func listAll(prefix: String = "", limit: Int? = nil, pageSize: Int = 1_000,
                        consistency: ReadConsistency? = nil) async throws -> [KeyValuePair] {
        if let limit, limit < 1 { throw KVClientError.invalidArgument("limit must be at least 1") }
        var pairs: [KeyValuePair] = []
        try await forEachPage(prefix: prefix, pageSize: Swift.min(pageSize, limit ?? pageSize), consistency: consistency) { page in
            pairs += page.pairs
            guard let limit else { return true }
            if pairs.count > limit { pairs.removeLast(pairs.count - limit) }
            return pairs.count < limit
        }
        return pairs
    }

    /// Walks the pages under `prefix` until the last one or until `visit` returns false.
    ///
    /// A page that promises more (`nextStartAfter`) must hold a pair and move strictly
    /// forward in byte order; otherwise a hostile or broken node could keep the client asking
    /// for the same page forever, and the walk ends with ``KVClientError/invalidResponse(_:)``.
    func forEachPage(prefix: String, pageSize: Int, consistency: ReadConsistency? = nil,
                     _ visit: (KeyPage) async throws -> Bool) async throws {
        var startAfter: String?
        while true {
            let page = try await list(prefix: prefix, limit: pageSize, startAfter: startAfter, consistency: consistency)
            guard try await visit(page), let next = page.nextStartAfter else { return }
            guard !page.pairs.isEmpty else {
                throw KVClientError.invalidResponse("an empty page of \(prefix.prefix(100)) promised more after \(next.prefix(100))")
            }
            if let previous = startAfter, !previous.utf8.lexicographicallyPrecedes(next.utf8) {
                throw KVClientError.invalidResponse("the listing of \(prefix.prefix(100)) went back to \(next.prefix(100))")
            }
            startAfter = next
        }
    }

    /// `consistency=stale` when asked for (per call or by default); linearizable is the node's
    /// default and is not sent, so plain reads stay on the node's fast path.
    func consistencyParameter(_ consistency: ReadConsistency?) -> String? {
        (consistency ?? configuration.defaultConsistency) == .stale ? "stale" : nil
    }

    /// The node refuses an empty key or one over 511 bytes with a 400; saying so before
    /// sending spares a round trip and names the limit.
    static func checkKey(_ key: String) throws(KVClientError) {
        guard !key.isEmpty else { throw .invalidArgument("a key cannot be empty") }
        guard key.utf8.count <= maxKeyBytes else {
            throw .invalidArgument("a key is at most \(maxKeyBytes) bytes; this one has \(key.utf8.count)")
        }
    }
}
