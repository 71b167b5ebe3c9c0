import Foundation
import Hummingbird
import KVStore

/// JSON in and out, and the error shape every failure uses: `{"error": "..."}`.
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: Int, _ message: String) -> Response {
        var headers: HTTPFields = [:]
        // Every 503 is "try again shortly": say when.
        if status == 503 { headers[.retryAfter] = "1" }
        return response(["error": message], status: HTTPResponse.Status(code: status), headers: headers)
    }

    static func error(_ error: RuntimeError) -> Response {
        Self.error(error.httpStatus, error.message)
    }

    /// Parses a request body as a JSON object, or explains what is wrong with it.
    static func object(from request: Request, limit: Int) async -> Result<[String: Any], APIFailure> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return .failure(APIFailure(413, "the request body is larger than \(limit) bytes"))
        } catch {
            // The client went away or sent fewer bytes than it announced: not "too large".
            return .failure(APIFailure(400, "the request body could not be read: \(error)"))
        }
        guard buffer.readableBytes > 0 else { return .failure(APIFailure(400, "the request body is empty; send a JSON object")) }
        let data = Data(buffer.readableBytesView)
        guard let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return .failure(APIFailure(400, "the request body is not valid JSON"))
        }
        guard let object = parsed as? [String: Any] else {
            return .failure(APIFailure(400, "the request body must be a JSON object"))
        }
        return .success(object)
    }
}

/// A client mistake found while reading the request.
struct APIFailure: Error {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    var response: Response { JSON.error(status, message) }
}
