import Foundation

/// One HTTP answer, kept as plain data so it can cross tasks.
public struct HTTPReply: Sendable, CustomStringConvertible {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object, or nil when it is not one.
    public var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    public var description: String { "\(status) \(text.prefix(300))" }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: body)
    }
}

/// The tests' HTTP client: one fresh connection per request (see `HTTPExchange`), and
/// redirects are returned to the test, never followed.
public enum HTTP {
    /// `url` is `http://127.0.0.1:PORT/path?query`: the nodes only listen on loopback.
    public static func send(_ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:],
                     timeout: Duration = .seconds(20)) async throws -> HTTPReply {
        guard let components = URLComponents(string: url), components.host == "127.0.0.1", let port = components.port else {
            throw Unexpected("not a loopback URL: \(url)")
        }
        let target = components.percentEncodedPath + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        let deadline = ContinuousClock.now + timeout
        let exchange = try HTTPExchange(port: port)
        try await exchange.send(method, target, headers: headers, body: body, deadline: deadline)
        return try await exchange.reply(deadline: deadline)
    }

    /// A JSON body from a dictionary of strings.
    public static func json(_ object: [String: String]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
