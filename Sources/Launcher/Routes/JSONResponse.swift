import Foundation
import Hummingbird

/// JSON responses in the shapes Docs/LAUNCHER.md fixes: payloads as they are, errors as `{"error": "..."}`.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"encoding failed"}"#.utf8)
        return raw(ByteBuffer(bytes: data), status: status)
    }

    static func raw(_ body: ByteBuffer, status: HTTPResponse.Status, contentType: String = "application/json") -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: body))
    }

    /// A quorum refusal also carries the assessment so a client can show what would happen.
    static func error(_ error: ControlError) -> Response {
        struct Body: Encodable {
            var error: String
            var quorum: QuorumAssessment?
            var needsForce: Bool?
            enum CodingKeys: String, CodingKey {
                case error, quorum
                case needsForce = "needs_force"
            }
        }
        var body = Body(error: error.description)
        if case .quorum(let assessment) = error {
            body.quorum = assessment
            body.needsForce = true
        }
        return make(body, status: HTTPResponse.Status(code: error.status))
    }

    /// Runs a handler and turns a `ControlError` into its response, so routes read as the happy path.
    static func handle(_ body: () async throws(ControlError) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return self.error(error)
        }
    }
}

/// `{"status":"success","message":...}` with the node the action touched.
struct ActionResult: Encodable {
    var status = "success"
    var message: String
    var node: NodeView?
}

extension Request {
    /// `?force=true` (also `1` or `yes`) confirms an action that would lose quorum.
    var forceFlag: Bool {
        ["true", "1", "yes"].contains(uri.queryParameters.get("force")?.lowercased() ?? "")
    }

    func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }
}
