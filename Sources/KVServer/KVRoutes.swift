import ClusterAPI
import FoundationEssentials
import HTTPTypes
import Hummingbird
import KVStore
import NodeRuntime

/// `/kv`: the key-value API. Writes go through Raft (a follower forwards them to the
/// leader); reads are linearizable unless `?consistency=stale` asks for the local state.
struct KVRoutes {
    let runtime: NodeRuntime
    let store: DurableStore
    /// Bytes of keys and values after which a `GET /kv` page ends early (`--max-page-bytes`).
    var maxPageBytes = NodeOptions.defaultMaxPageBytes
    /// Largest request body accepted (413 beyond).
    static let maxBodyBytes = 1 << 20
    /// Largest page `GET /kv` returns at once.
    static let maxPage = 10_000

    func register(on router: Router<BasicRequestContext>) {
        router.put("kv/**") { request, _ in await put(request) }
        router.get("kv/**") { request, _ in await get(request) }
        router.delete("kv/**") { request, _ in await delete(request) }
        router.get("kv") { request, _ in await list(request) }
        router.delete("kv") { request, _ in await deletePrefix(request) }
        // `/kv/` and `/kv` name no key: a write there is a client mistake (400), not a
        // missing endpoint.
        router.put("kv") { _, _ in JSON.error(400, "the key is empty: use /kv/{key}") }
        for method in [HTTPRequest.Method.post, .patch] {
            router.on("kv/**", method: method) { _, _ in
                var response = JSON.error(405, "use PUT to write, GET to read and DELETE to remove a key")
                response.headers[.allow] = "GET, PUT, DELETE"
                return response
            }
        }
    }

    private var operations: KVOperations { KVOperations(runtime: runtime, store: store) }

    private func key(of request: Request) -> Result<String, APIFailure> {
        KVOperations.key(fromPath: request.uri.path[...])
    }

    private func requestID(of request: Request) -> ClientRequestID? {
        KVOperations.requestID(idempotencyKey: HTTPField.Name("Idempotency-Key").flatMap { request.headers[$0] })
    }

    /// The conditions and lease a write to `key` asks for (Docs/API.md, "Conditional writes").
    private func conditions(of request: Request, key: String, mayAttachLease: Bool) -> Result<WriteConditions, APIFailure> {
        WriteConditions.parse(key: key, ifMatch: request.headers[.ifMatch], ifNoneMatch: request.headers[.ifNoneMatch],
                              query: request.uri.queryParameters.map { (name: $0.key, value: $0.value) },
                              mayAttachLease: mayAttachLease)
    }

    private func put(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        let conditions: WriteConditions
        switch self.conditions(of: request, key: key, mayAttachLease: true) {
        case .success(let c): conditions = c
        case .failure(let failure): return failure.response
        }
        switch await JSON.stringField("value", from: request, limit: Self.maxBodyBytes) {
        case .success(let value):
            return await operations.put(key, value: value, conditions: conditions, requestID: requestID(of: request),
                                        identity: ClientContext.identity?.name).response
        case .failure(let failure): return failure.response
        }
    }

    private func delete(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        switch conditions(of: request, key: key, mayAttachLease: false) {
        case .success(let conditions):
            return await operations.delete(key, conditions: conditions, requestID: requestID(of: request),
                                           identity: ClientContext.identity?.name).response
        case .failure(let failure): return failure.response
        }
    }

    /// `DELETE /kv?prefix=P`: a range at one revision. A missing or empty prefix is refused:
    /// deleting every key takes an explicit choice of prefix, never an omission.
    private func deletePrefix(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        guard let prefix = query["prefix"].map(String.init), !prefix.isEmpty else {
            return JSON.error(400, "give a non-empty ?prefix=P to delete a range, or use /kv/{key} for one key")
        }
        if let unknown = query.first(where: { $0.key != "prefix" }) {
            return JSON.error(400, "unknown query parameter \"\(unknown.key)\": a range delete takes only prefix")
        }
        if prefix.utf8.count > KVCommand.maxKeySize {
            return JSON.error(400, "the prefix is \(prefix.utf8.count) bytes; at most \(KVCommand.maxKeySize) are allowed")
        }
        return await operations.deletePrefix(prefix, requestID: requestID(of: request),
                                             identity: ClientContext.identity?.name).response
    }

    private func get(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        let query = request.uri.queryParameters
        guard let consistency = ReadConsistency(query: query["consistency"]) else {
            return ReadConsistency.badValue.response
        }
        guard let text = query["revision"] else { return await operations.get(key, consistency: consistency).response }
        guard let revision = UInt64(text) else { return JSON.error(400, "revision must be a revision (a whole number)") }
        return await operations.get(key, atRevision: revision, consistency: consistency).response
    }

    private func list(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        let prefix = query["prefix"].map(String.init) ?? ""
        let startAfter = query["start_after"].map(String.init)
        var limit = Self.maxPage
        if let text = query["limit"] {
            guard let parsed = Int(text), parsed > 0, parsed <= Self.maxPage else {
                return JSON.error(400, "limit must be a whole number from 1 to \(Self.maxPage)")
            }
            limit = parsed
        }
        guard let consistency = ReadConsistency(query: query["consistency"]) else { return ReadConsistency.badValue.response }
        if let failure = await operations.barrier(consistency) { return failure.response }
        do {
            let page = try store.stateMachine.page(prefix: prefix, startAfter: startAfter, limit: limit, maxBytes: maxPageBytes)
            // Written as bytes in key order: a Swift dictionary would merge keys that differ
            // only in Unicode normalization, which are two keys here.
            var json = JSONObjectWriter(capacity: 64)
            for record in page.records {
                json.field(named: record.key, String(decoding: record.value, as: UTF8.self))
            }
            var response = KVReply(json).response
            if page.hasMore, let last = page.records.last, let name = HTTPField.Name("X-Next-Start-After") {
                response.headers[name] = PercentEncoding.encode(last.key)
            }
            return response
        } catch {
            // Out of reader slots or descriptors is 503 with Retry-After, not a fault.
            return JSON.error(RuntimeError(error))
        }
    }
}
