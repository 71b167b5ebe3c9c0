import Foundation

/// Single keys, listings and prefix deletes (Docs/API.md, "Keys and values").
extension KVClient {
    /// The key as it is now (or was at `revision`); nil when it does not exist.
    ///
    /// - Throws: ``KVClientError/compacted(compactRevision:)`` when `revision` lies below the
    ///   retained history.
    public func get(_ key: String, revision: UInt64? = nil, consistency: ReadConsistency? = nil) async throws -> KeyValue? {
        let query = PercentEncoding.query([
            ("revision", revision.map(String.init)),
            ("consistency", consistencyParameter(consistency)),
        ])
        let answer = try await send(APIRequest(.GET, "/kv/\(PercentEncoding.encode(key))\(query)"))
        if answer.status == 404 {
            _ = try? await collectBody(answer, limit: 64 * 1024)
            return nil
        }
        return try await decode(KeyValue.self, from: answer, key: key)
    }

    /// Writes `value`. With `ifRevision`, only if the key's revision is that (0: only if the key
    /// does not exist), else ``KVClientError/preconditionFailed(key:currentRevision:)``.
    /// With `lease`, the key is deleted when the lease ends; without, it is detached from any.
    @discardableResult
    public func put(_ key: String, _ value: String, ifRevision: UInt64? = nil, lease: UInt64? = nil) async throws -> PutResult {
        let query = PercentEncoding.query([("if_revision", ifRevision.map(String.init)), ("lease", lease.map(String.init))])
        let body = try APIRequest.json(["value": value])
        return try await call(.write(.PUT, "/kv/\(PercentEncoding.encode(key))\(query)", body: body), as: PutResult.self, key: key)
    }

    /// Deletes the key (not an error when it does not exist: ``DeleteResult/deleted`` says).
    @discardableResult
    public func delete(_ key: String, ifRevision: UInt64? = nil) async throws -> DeleteResult {
        let query = PercentEncoding.query([("if_revision", ifRevision.map(String.init))])
        return try await call(.write(.DELETE, "/kv/\(PercentEncoding.encode(key))\(query)"), as: DeleteResult.self, key: key)
    }

    /// Deletes every key that starts with `prefix`, at one revision. An empty prefix is refused
    /// here as by the node: deleting everything takes an explicit prefix.
    @discardableResult
    public func deletePrefix(_ prefix: String) async throws -> DeletePrefixResult {
        guard !prefix.isEmpty else { throw KVClientError.invalidArgument("deleting by prefix needs a non-empty prefix") }
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
        let answer = try await send(APIRequest(.GET, "/kv\(query)"))
        let object = try await decode([String: String].self, from: answer)
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

    /// Every key under `prefix`, page after page, up to `limit` pairs (nil: all of them).
    public func listAll(prefix: String = "", limit: Int? = nil, pageSize: Int = 1_000,
                        consistency: ReadConsistency? = nil) async throws -> [KeyValuePair] {
        var pairs: [KeyValuePair] = []
        var startAfter: String?
        repeat {
            let remaining = max(1, limit.map { $0 - pairs.count } ?? pageSize)
            let page = try await list(prefix: prefix, limit: min(pageSize, remaining), startAfter: startAfter, consistency: consistency)
            pairs += page.pairs
            startAfter = page.nextStartAfter
        } while startAfter != nil && (limit.map { pairs.count < $0 } ?? true)
        return pairs
    }

    /// `consistency=stale` when asked for (per call or by default); linearizable is the node's
    /// default and is not sent, so plain reads stay on the node's fast path.
    func consistencyParameter(_ consistency: ReadConsistency?) -> String? {
        (consistency ?? configuration.defaultConsistency) == .stale ? "stale" : nil
    }
}
