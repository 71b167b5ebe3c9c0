import ClusterAPI
import KVStore
import NIOCore
import NodeRuntime

/// A key-value answer before it becomes an HTTP response: a status and a JSON body. Both
/// HTTP paths (the Hummingbird routes and `KVFastPathHandler`) write these, so a request
/// gets the same answer whichever path served it.
struct KVReply: Sendable {
    var status: Int
    var body: ByteBuffer
    /// The key's revision for `ETag: "<revision>"` (Docs/API.md, "Revisions"): set on
    /// answers that carry one key's state, so a client can send it back in `If-Match`.
    var etag: UInt64?

    init(status: Int = 200, _ json: JSONObjectWriter) {
        self.status = status
        self.body = json.byteBuffer
    }

    init(status: Int = 200, body: ByteBuffer) {
        self.status = status
        self.body = body
    }

    static func error(_ status: Int, _ message: String) -> KVReply {
        var json = JSONObjectWriter(capacity: 16 + message.utf8.count)
        json.field("error", message)
        return KVReply(status: status, json)
    }

    static func error(_ error: RuntimeError) -> KVReply {
        if case .compacted(let revision) = error { return compacted(revision) }
        return .error(error.httpStatus, error.message)
    }

    /// `410 {"error":"compacted","compact_revision":X}`: the history asked for is gone.
    static func compacted(_ revision: UInt64) -> KVReply {
        var json = JSONObjectWriter(capacity: 48)
        json.field("compact_revision", revision)
        json.field("error", "compacted")
        return KVReply(status: 410, json)
    }

    static func error(_ failure: APIFailure) -> KVReply { .error(failure.status, failure.message) }

    /// Every 503 is "try again shortly": the response says when.
    var retryAfterSeconds: Int? { status == 503 ? 1 : nil }

    /// Every 401 says how to authenticate (RFC 9110, 11.6.1); a bearer token is accepted too.
    var authenticateChallenge: String? { status == 401 ? Self.basicChallenge : nil }
    static let basicChallenge = "Basic realm=\"kv\", charset=\"UTF-8\""
}

/// How a read may be served.
enum ReadConsistency: Sendable {
    /// ReadIndex first: the read sees every write acknowledged before it began.
    case linearizable
    /// This node's state as it is: may lag the leader.
    case stale

    /// `consistency=` as the API spells it; nil for a value the API does not know.
    init?(query value: Substring?) {
        switch value {
        case nil, "linearizable", "strong": self = .linearizable
        case "stale": self = .stale
        default: return nil
        }
    }

    static let badValue = APIFailure(400, "consistency must be \"linearizable\" or \"stale\"")
}

/// The single-key operations of `/kv/{key}`, independent of how the HTTP request arrived.
struct KVOperations: Sendable {
    let runtime: NodeRuntime
    let store: DurableStore

    /// The key is everything after `/kv/` in the path, percent-decoded, so keys may contain
    /// slashes. Keys without `%` skip decoding: the usual case costs nothing.
    static func key(fromPath path: Substring) -> Result<String, APIFailure> {
        // Both servers hand over paths that start with `/kv/`; Foundation's `range(of:)`
        // was a visible cost per request.
        guard path.hasPrefix("/kv/") else { return .failure(APIFailure(400, "no key in the path")) }
        let raw = String(path.dropFirst(4))
        guard let key = raw.contains("%") ? PercentEncoding.decode(raw) : raw, !key.isEmpty else {
            return .failure(APIFailure(400, "the key is empty or not valid percent-encoding"))
        }
        do {
            try KVCommand.validate(key: key)
        } catch {
            return .failure(APIFailure(400, "invalid key: \(error)"))
        }
        return .success(key)
    }

    /// `Idempotency-Key` makes retries safe: the same header value never applies twice while
    /// the state machine remembers it (see Docs/API.md, "Idempotency-Key"). Sequence 1 always:
    /// a key names one request, so reusing it for another one is refused at apply (422).
    static func requestID(idempotencyKey: String?) -> ClientRequestID? {
        guard let value = idempotencyKey, !value.isEmpty else { return nil }
        return ClientRequestID(clientID: IdempotencyKey.clientID(for: value), sequence: 1)
    }

    /// `identity` is the authenticated client's name (with `--auth-file`): it travels with
    /// the write if a follower forwards it, so the leader can tell whose write it is.
    func put(_ key: String, value: String, requestID: ClientRequestID?, identity: String? = nil) async -> KVReply {
        await withCheckedContinuation { done in
            put(key, value: value, requestID: requestID, identity: identity) { done.resume(returning: $0) }
        }
    }

    /// `put` for a caller on an event loop: `answer` is called once, on any thread.
    func put(_ key: String, value: String, requestID: ClientRequestID?, identity: String? = nil,
             answer: @escaping @Sendable (KVReply) -> Void) {
        runtime.submit(.put(key, Array(value.utf8), requestID: requestID), identity: identity) { result in
            answer(result.reply { result in
                var json = JSONObjectWriter(capacity: 48 + key.utf8.count)
                json.field("key", key)
                json.field("revision", result.revision)
                json.field("status", "success")
                return json
            })
        }
    }

    func delete(_ key: String, requestID: ClientRequestID?, identity: String? = nil) async -> KVReply {
        await withCheckedContinuation { done in
            delete(key, requestID: requestID, identity: identity) { done.resume(returning: $0) }
        }
    }

    /// `delete` for a caller on an event loop: `answer` is called once, on any thread.
    func delete(_ key: String, requestID: ClientRequestID?, identity: String? = nil,
                answer: @escaping @Sendable (KVReply) -> Void) {
        runtime.submit(.delete(key, requestID: requestID), identity: identity) { result in
            answer(result.reply { result in
                var json = JSONObjectWriter()
                json.field("deleted", result.deleted)
                json.field("revision", result.revision)
                json.field("status", "success")
                return json
            })
        }
    }

    /// Reads `key` after the barrier `consistency` asks for.
    func get(_ key: String, consistency: ReadConsistency) async -> KVReply {
        if let failure = await barrier(consistency) { return failure }
        return readLocally(key)
    }

    /// nil when reading may go on; otherwise why it may not.
    func barrier(_ consistency: ReadConsistency) async -> KVReply? {
        guard consistency == .linearizable else {
            await runtime.staleReadBarrier()
            return nil
        }
        do {
            try await runtime.linearizableBarrier()
            return nil
        } catch {
            return .error(error)
        }
    }

    /// This node's state machine as it is now; the caller has passed any barrier.
    func readLocally(_ key: String) -> KVReply {
        do {
            guard let record = try store.stateMachine.get(key) else { return .error(404, "key not found: \(key)") }
            return .record(record)
        } catch {
            // Out of reader slots or descriptors is 503 with Retry-After, not a fault.
            return .error(RuntimeError(error))
        }
    }

    /// `key` as it was at `revision`, after the barrier `consistency` asks for: 410 once that
    /// revision is compacted, 400 for a revision this node has not reached.
    func get(_ key: String, atRevision revision: UInt64, consistency: ReadConsistency) async -> KVReply {
        if let failure = await barrier(consistency) { return failure }
        do {
            guard let record = try store.stateMachine.get(key, atRevision: revision) else {
                return .error(404, "key not found at revision \(revision): \(key)")
            }
            return .record(record)
        } catch {
            return .error(RuntimeError(error))
        }
    }
}

extension KVReply {
    /// `GET /kv/{key}`'s answer: the key's value and the revisions of its life, with its
    /// revision as the ETag.
    static func record(_ record: KVRecord) -> KVReply {
        var json = JSONObjectWriter(capacity: 112 + record.key.utf8.count + record.value.count)
        json.field("create_revision", record.createRevision)
        json.field("key", record.key)
        // A decimal string, as every lease id of the API: ids are log indexes and may
        // exceed what a JavaScript number holds exactly.
        if record.lease != 0 { json.field("lease", String(record.lease)) }
        json.field("revision", record.revision)
        json.field("value", String(decoding: record.value, as: UTF8.self))
        json.field("version", record.version)
        var reply = KVReply(json)
        reply.etag = record.revision
        return reply
    }
}

extension Result<KVResult, RuntimeError> {
    func reply(_ success: (KVResult) -> JSONObjectWriter) -> KVReply {
        switch self {
        case .success(let result): KVReply(success(result))
        case .failure(let error): .error(error)
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
