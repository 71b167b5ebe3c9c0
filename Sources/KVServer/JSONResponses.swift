import FoundationEssentials
import Hummingbird
import KVStore
import NodeRuntime

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
        KVReply.error(status, message).response
    }

    static func error(_ error: RuntimeError) -> Response {
        KVReply.error(error).response
    }

    /// The string field `name` of a JSON object body, or what is wrong with the body.
    static func stringField(_ name: String, from request: Request, limit: Int) async -> Result<String, APIFailure> {
        switch await body(of: request, limit: limit) {
        case .success(let buffer): return stringField(name, in: buffer)
        case .failure(let failure): return .failure(failure)
        }
    }

    /// A body of exactly `{"name":"text"}` whose text needs no unescaping (no quote,
    /// backslash or control character: the usual write) is read without a JSON parser.
    static func stringField(_ name: String, in buffer: ByteBuffer) -> Result<String, APIFailure> {
        guard buffer.readableBytes > 0 else { return .failure(emptyBody) }
        if let text = plainStringField(name, buffer.readableBytesView) { return .success(text) }
        let object: [String: Any]
        switch parseObject(buffer) {
        case .success(let o): object = o
        case .failure(let failure): return .failure(failure)
        }
        guard let raw = object[name] else { return .failure(APIFailure(400, "the body needs a \"\(name)\" field")) }
        guard let text = raw as? String else { return .failure(APIFailure(400, "\"\(name)\" must be a string")) }
        return .success(text)
    }

    static let emptyBody = APIFailure(400, "the request body is empty; send a JSON object")

    static func tooLarge(limit: Int) -> APIFailure { APIFailure(413, "the request body is larger than \(limit) bytes") }

    static func plainStringField<Bytes: BidirectionalCollection<UInt8>>(_ name: String, _ bytes: Bytes) -> String? {
        // `{"` name `":"` text `"}`, compared in place: this runs for every single-key write.
        let opening = 2 + name.utf8.count + 3
        guard bytes.count >= opening + 2, bytes.starts(with: #"{""#.utf8),
              bytes.dropFirst(2).starts(with: name.utf8), bytes.dropFirst(2 + name.utf8.count).starts(with: #"":""#.utf8),
              bytes.suffix(2).elementsEqual(#""}"#.utf8) else {
            return nil
        }
        let text = bytes.dropFirst(opening).dropLast(2)
        guard !text.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else { return nil }
        return String(validating: text, as: UTF8.self)
    }

    /// Parses a request body as a JSON object, or explains what is wrong with it.
    static func object(from request: Request, limit: Int) async -> Result<[String: Any], APIFailure> {
        switch await body(of: request, limit: limit) {
        case .success(let buffer): return parseObject(buffer)
        case .failure(let failure): return .failure(failure)
        }
    }

    private static func body(of request: Request, limit: Int) async -> Result<ByteBuffer, APIFailure> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return .failure(tooLarge(limit: limit))
        } catch {
            // The client went away or sent fewer bytes than it announced: not "too large".
            return .failure(APIFailure(400, "the request body could not be read: \(error)"))
        }
        guard buffer.readableBytes > 0 else { return .failure(emptyBody) }
        return .success(buffer)
    }

    private static func parseObject(_ buffer: ByteBuffer) -> Result<[String: Any], APIFailure> {
        guard let parsed = JSONDocument.parse(buffer.readableBytesView) else {
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

extension KVReply {
    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let seconds = retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        if let challenge = authenticateChallenge { headers[.wwwAuthenticate] = challenge }
        if let etag { headers[.eTag] = "\"\(etag)\"" }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
