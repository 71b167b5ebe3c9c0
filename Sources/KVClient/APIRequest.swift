import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One call of the node API as the client sends it to whichever endpoint it tries: built once,
/// sent again unchanged on a retry, so a retried write carries the same `Idempotency-Key`.
struct APIRequest: Sendable {
    var method: HTTPMethod
    /// Path and query, already percent-encoded (see ``PercentEncoding``).
    var target: String
    var body: APIRequestBody = .none
    /// Extra headers: `Idempotency-Key`, `Last-Event-ID`.
    var headers: [(String, String)] = []
    /// Whether sending the request twice is harmless; decides what the client may retry.
    var retry: RetryPolicy
    /// How long one attempt waits for the answer's head.
    var headTimeout: HeadTimeout = .requestTimeout
    /// How long the call keeps failing over, when shorter than the configured
    /// ``KVClientConfiguration/retryBudget`` (a lease keep-alive has only the lease's time left).
    var retryBudget: Duration?

    init(_ method: HTTPMethod, _ target: String, body: APIRequestBody = .none, headers: [(String, String)] = [],
         retry: RetryPolicy, headTimeout: HeadTimeout = .requestTimeout) {
        self.method = method
        self.target = target
        self.body = body
        self.headers = headers
        self.retry = retry
        self.headTimeout = headTimeout
    }

    /// A read: it changes nothing, so it is retried like an idempotent write.
    static func read(_ target: String, headTimeout: HeadTimeout = .requestTimeout) -> APIRequest {
        APIRequest(.GET, target, retry: .safe, headTimeout: headTimeout)
    }

    /// A write with a fresh `Idempotency-Key`, made here once so every retry of this request
    /// repeats it and the cluster applies the write at most once (PUT, DELETE, POST /txn).
    static func write(_ method: HTTPMethod, _ target: String, body: APIRequestBody = .none) -> APIRequest {
        APIRequest(method, target, body: body, headers: [("Idempotency-Key", UUID().uuidString)], retry: .safe)
    }

    /// A change the node cannot recognise when it arrives twice (no `Idempotency-Key`): a
    /// lease grant, a revocation, a membership change, a compaction, an import.
    static func unrepeatable(_ method: HTTPMethod, _ target: String, body: APIRequestBody = .none,
                             headTimeout: HeadTimeout = .requestTimeout) -> APIRequest {
        APIRequest(method, target, body: body, retry: .unsafe, headTimeout: headTimeout)
    }

    /// A JSON body from an `Encodable` value, keys sorted.
    static func json(_ value: some Encodable) throws(KVClientError) -> APIRequestBody {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return .json(Array(try encoder.encode(value)))
        } catch {
            throw .invalidArgument("cannot encode the request: \(error)")
        }
    }
}

/// Whether a request may be sent again after an attempt whose outcome the client cannot know.
enum RetryPolicy: Sendable, Equatable {
    /// A read, or a write with an `Idempotency-Key`: retried after a 503, a lost connection, a
    /// timeout, or a body lost after its head, on any endpoint.
    case safe
    /// Sending it twice could apply it twice. Another endpoint is tried only when the
    /// connection could not be made, so the request never left the client; after that, a 503,
    /// a lost answer or a timeout is the caller's to judge.
    case unsafe
}

/// How long an attempt waits for the answer's head.
enum HeadTimeout: Sendable, Equatable {
    /// ``KVClientConfiguration/requestTimeout``: the node answers within its own request timeout.
    case requestTimeout
    /// No limit of the client's own: `POST /import` answers once every line was applied (minutes
    /// for a large file) and `GET /snapshot` and `GET /export` write a backup before their head,
    /// so a deadline would only abandon work that is still going on and invite a retry of it.
    case unlimited
}

/// What a request carries. The node refuses a POST or PUT without
/// `Content-Type: application/json` (its cross-site rule), so even body-less POSTs say it.
enum APIRequestBody: Sendable {
    case none
    case json([UInt8])
    /// A file sent as `application/x-ndjson`, read in chunks each time the request is sent,
    /// so an import of any size never sits in memory whole.
    case ndjsonFile(path: String)

    var contentType: String? {
        switch self {
        case .none, .json: "application/json"
        case .ndjsonFile: "application/x-ndjson"
        }
    }

    func httpBody() throws(KVClientError) -> HTTPClientRequest.Body? {
        switch self {
        case .none:
            return nil
        case .json(let bytes):
            return .bytes(ByteBuffer(bytes: bytes))
        case .ndjsonFile(let path):
            let chunks = try FileChunks(path: path)
            return .stream(chunks, length: .known(chunks.size))
        }
    }
}
