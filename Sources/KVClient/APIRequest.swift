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

    init(_ method: HTTPMethod, _ target: String, body: APIRequestBody = .none, headers: [(String, String)] = []) {
        self.method = method
        self.target = target
        self.body = body
        self.headers = headers
    }

    /// A write: with a fresh `Idempotency-Key`, made here once so every retry of this request
    /// repeats it and the cluster applies the write at most once.
    static func write(_ method: HTTPMethod, _ target: String, body: APIRequestBody = .none) -> APIRequest {
        APIRequest(method, target, body: body, headers: [("Idempotency-Key", UUID().uuidString)])
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
