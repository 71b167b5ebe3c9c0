import Foundation
import HTTPTypes
import Hummingbird
import KVStore

/// `/kv`: the key-value API. Writes go through Raft (a follower forwards them to the
/// leader); reads are linearizable unless `?consistency=stale` asks for the local state.
struct KVRoutes {
    let runtime: NodeRuntime
    let store: DurableStore
    /// Largest request body accepted (413 beyond).
    static let maxBodyBytes = 1 << 20
    /// Largest page `GET /kv` returns at once.
    static let maxPage = 10_000

    func register(on router: Router<BasicRequestContext>) {
        router.put("kv/**") { request, _ in await put(request) }
        router.get("kv/**") { request, _ in await get(request) }
        router.delete("kv/**") { request, _ in await delete(request) }
        router.get("kv") { request, _ in await list(request) }
        for method in [HTTPRequest.Method.post, .patch] {
            router.on("kv/**", method: method) { _, _ in
                var response = JSON.error(405, "use PUT to write, GET to read and DELETE to remove a key")
                response.headers[.allow] = "GET, PUT, DELETE"
                return response
            }
        }
    }

    /// The key is everything after `/kv/`, percent-decoded, so keys may contain slashes.
    private func key(of request: Request) -> Result<String, APIFailure> {
        let path = request.uri.path
        guard let range = path.range(of: "/kv/") else { return .failure(APIFailure(400, "no key in the path")) }
        let raw = String(path[range.upperBound...])
        guard let key = raw.contains("%") ? raw.removingPercentEncoding : raw, !key.isEmpty else {
            return .failure(APIFailure(400, "the key is empty or not valid percent-encoding"))
        }
        do {
            try KVCommand.validate(key: key)
        } catch {
            return .failure(APIFailure(400, "invalid key: \(error)"))
        }
        return .success(key)
    }

    /// `Idempotency-Key` makes retries safe: the same header value never applies twice.
    private func requestID(of request: Request) -> ClientRequestID? {
        guard let name = HTTPField.Name("Idempotency-Key"), let value = request.headers[name], !value.isEmpty else { return nil }
        return ClientRequestID(clientID: IdempotencyKey.clientID(for: value), sequence: 1)
    }

    private func put(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        let value: String
        switch await JSON.stringField("value", from: request, limit: Self.maxBodyBytes) {
        case .success(let v): value = v
        case .failure(let failure): return failure.response
        }
        do {
            let result = try await runtime.submit(.put(key, Array(value.utf8), requestID: requestID(of: request)))
            var json = JSONObjectWriter()
            json.field("key", key)
            json.field("revision", result.revision)
            json.field("status", "success")
            return json.response()
        } catch {
            return JSON.error(error)
        }
    }

    private func delete(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        do {
            let result = try await runtime.submit(.delete(key, requestID: requestID(of: request)))
            var json = JSONObjectWriter()
            json.field("deleted", result.deleted)
            json.field("revision", result.revision)
            json.field("status", "success")
            return json.response()
        } catch {
            return JSON.error(error)
        }
    }

    private func get(_ request: Request) async -> Response {
        let key: String
        switch self.key(of: request) {
        case .success(let k): key = k
        case .failure(let failure): return failure.response
        }
        if let failure = await readBarrier(request) { return failure }
        do {
            guard let record = try store.stateMachine.get(key) else { return JSON.error(404, "key not found: \(key)") }
            var json = JSONObjectWriter(capacity: 32 + key.utf8.count + record.value.count)
            json.field("key", key)
            json.field("revision", record.revision)
            json.field("value", String(decoding: record.value, as: UTF8.self))
            return json.response()
        } catch {
            return JSON.error(RuntimeError.internalError("\(error)"))
        }
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
        if let failure = await readBarrier(request) { return failure }
        do {
            // One extra record tells whether another page follows.
            let records = try store.stateMachine.list(prefix: prefix, startAfter: startAfter, limit: limit + 1)
            let page = records.prefix(limit)
            var pairs: [String: String] = [:]
            for record in page { pairs[record.key] = String(decoding: record.value, as: UTF8.self) }
            var headers: HTTPFields = [:]
            if records.count > limit, let last = page.last, let name = HTTPField.Name("X-Next-Start-After") {
                headers[name] = last.key.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? last.key
            }
            return JSON.response(pairs, headers: headers)
        } catch {
            return JSON.error(RuntimeError.internalError("\(error)"))
        }
    }

    /// Linearizable unless the client asked for `consistency=stale`; nil when reading may go on.
    private func readBarrier(_ request: Request) async -> Response? {
        switch request.uri.queryParameters["consistency"].map(String.init) ?? "linearizable" {
        case "stale":
            return nil
        case "linearizable", "strong":
            do {
                try await runtime.linearizableBarrier()
                return nil
            } catch {
                return JSON.error(error)
            }
        default:
            return JSON.error(400, "consistency must be \"linearizable\" or \"stale\"")
        }
    }
}


/// Maps an `Idempotency-Key` header to a client session id: FNV-1a, stable across nodes
/// and restarts, so a retry through any node finds the same session.
enum IdempotencyKey {
    static func clientID(for key: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
