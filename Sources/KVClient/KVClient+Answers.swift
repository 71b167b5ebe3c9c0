import AsyncHTTPClient
import Foundation
import NIOCore

/// The error document every refusal of kv-node carries: `{"error": "..."}`, plus the fields
/// of a 412 (`key`, `revision`) and of a 410 (`compact_revision`).
private struct RefusalDocument: Decodable {
    var error: String?
    var key: String?
    var revision: UInt64?
    var compactRevision: UInt64?

    enum CodingKeys: String, CodingKey {
        case error, key, revision
        case compactRevision = "compact_revision"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Each field on its own: one of an unexpected type must not hide the message.
        error = try? c.decodeIfPresent(String.self, forKey: .error)
        key = try? c.decodeIfPresent(String.self, forKey: .key)
        revision = try? c.decodeIfPresent(UInt64.self, forKey: .revision)
        compactRevision = try? c.decodeIfPresent(UInt64.self, forKey: .compactRevision)
    }
}

/// The head of an answer arrived, but its body did not (the connection broke or went silent).
struct AnswerBodyLost: Error {
    var endpoint: Endpoint
    var underlying: any Error
}

extension KVClient {
    /// Largest body of an ordinary answer read into memory; a server that sends more is refused
    /// rather than allowed to exhaust the client. A `GET /kv` page is at most 4 MiB of keys and
    /// values by default, and JSON escapes (`\u0001` for one byte) can make it six times that.
    static let maxAnswerBytes = 32 * 1024 * 1024

    /// Reads the whole body, at most `limit` bytes, within the request timeout (the client's
    /// deadline covers only the answer's head). A lost or stalled body is ``AnswerBodyLost``,
    /// which ``exchange(_:on:_:)`` turns into a retry or an error.
    func collectBody(_ answer: APIResponse, limit: Int = KVClient.maxAnswerBytes) async throws -> ByteBuffer {
        let body = answer.response.body
        do {
            return try await withDeadline(configuration.requestTimeout) {
                try await body.collect(upTo: limit)
            }
        } catch let error as KVClientError {
            throw error
        } catch let error as NIOTooManyBytesError {
            throw KVClientError.invalidResponse("answer from \(answer.endpoint) over \(limit) bytes: \(error)")
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw AnswerBodyLost(endpoint: answer.endpoint, underlying: error)
        }
    }

    /// The body of a `200` decoded as `T`; any other status becomes the matching ``KVClientError``.
    func decode<T: Decodable>(_ type: T.Type, from answer: APIResponse, key: String? = nil) async throws -> T {
        guard answer.status == 200 else { throw await refusal(answer, key: key) }
        let body = try await collectBody(answer)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self)
            throw KVClientError.invalidResponse("\(answer.status) from \(answer.endpoint) is not the expected document: \(text)")
        }
    }

    /// Sends and decodes in one step.
    func call<T: Decodable>(_ request: APIRequest, as type: T.Type, key: String? = nil) async throws -> T {
        try await exchange(request) { try await self.decode(type, from: $0, key: key) }
    }

    /// Sends `request` (to `endpoint` alone, or with failover when nil) and reads the answer
    /// with `read`.
    ///
    /// When the head of the answer arrived but its body was lost, a request that is safe to
    /// repeat is sent again, unchanged, on the next endpoint: a write repeats its
    /// `Idempotency-Key`, so the cluster answers it from its record of the first attempt
    /// instead of applying it twice. This goes on within the retry budget. A request that is
    /// not safe to repeat was applied (its head came) but its result is unknown:
    /// ``KVClientError/answerLost(endpoint:underlying:)``.
    func exchange<T>(_ request: APIRequest, on endpoint: Endpoint? = nil,
                     _ read: (APIResponse) async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + (request.retryBudget ?? configuration.retryBudget)
        var next = request
        var avoiding: Endpoint?
        while true {
            let answer: APIResponse
            if let endpoint {
                answer = try await sendOnce(next, to: endpoint)
            } else {
                answer = try await send(next, avoiding: avoiding)
            }
            do {
                return try await read(answer)
            } catch let lost as AnswerBodyLost {
                let left = deadline - clock.now
                guard request.retry == .safe else {
                    throw KVClientError.answerLost(endpoint: lost.endpoint.description, underlying: lost.underlying)
                }
                guard endpoint == nil, left > .zero else {
                    throw KVClientError.unreachable(endpoints: [lost.endpoint.description], underlying: lost.underlying)
                }
                logger.debug("the answer from \(lost.endpoint) broke off (\(lost.underlying)); sending \(request.target) again")
                next.retryBudget = left
                avoiding = lost.endpoint
            }
        }
    }

    /// The error a non-200 answer stands for. `key` names the key of a conditional write, in
    /// case a 412 does not.
    func refusal(_ answer: APIResponse, key: String? = nil) async -> KVClientError {
        let body = try? await collectBody(answer, limit: 64 * 1024)
        let document = body.flatMap { try? JSONDecoder().decode(RefusalDocument.self, from: Data($0.readableBytesView)) }
        let text = body.map { String(decoding: $0.readableBytesView.prefix(500), as: UTF8.self) } ?? ""
        let message = document?.error ?? (text.isEmpty ? "HTTP \(answer.status)" : text)
        switch answer.status {
        case 400: return .badRequest(message)
        case 401: return .unauthorized(message)
        case 403: return .forbidden(message)
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 410:
            guard let compactRevision = document?.compactRevision else { return .server(status: 410, message: message) }
            return .compacted(compactRevision: compactRevision)
        case 412:
            return .preconditionFailed(key: document?.key ?? key ?? "", currentRevision: document?.revision ?? 0)
        case 422: return .idempotencyKeyReused(message)
        case 503: return .unavailable(message)
        default: return .server(status: answer.status, message: message)
        }
    }

    /// The server's message of a refusal, for logs and for the last 503 seen.
    func refusalMessage(_ answer: APIResponse) async -> String {
        await refusal(answer).description
    }
}
