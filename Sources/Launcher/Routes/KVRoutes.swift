import Foundation
import HTTPTypes
import Hummingbird

/// `/api/kv...`: the dashboard's data explorer, forwarded to a node (`?node=node2`, default
/// the leader) with the chosen read consistency (`?consistency=stale`, default linearizable).
enum KVRoutes {
    static let nodeHeader = HTTPField.Name("X-KV-Node")!

    static func register(on router: Router<some RequestContext>, gateway: KVGateway) {
        router.get("api/kv") { request, _ in
            await JSONResponse.handle { () async throws(ControlError) in
                let page = try await gateway.list(
                    prefix: request.query("prefix") ?? "",
                    startAfter: request.query("start_after"),
                    limit: request.query("limit").flatMap(Int.init) ?? 50,
                    node: request.query("node"),
                    consistency: try consistency(request))
                return JSONResponse.make(page)
            }
        }
        router.get("api/kv/{key}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let key = try key(context)
                return relay(try await gateway.get(key: key, node: request.query("node"), consistency: try consistency(request)))
            }
        }
        router.put("api/kv/{key}") { request, context in
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            return await JSONResponse.handle { () async throws(ControlError) in
                relay(try await gateway.put(key: try key(context), body: body, node: request.query("node")))
            }
        }
        router.delete("api/kv/{key}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                relay(try await gateway.delete(key: try key(context), node: request.query("node")))
            }
        }
    }

    /// The router matches on the raw path, so a key sent as `a%2Fb` arrives encoded here.
    private static func key(_ context: some RequestContext) throws(ControlError) -> String {
        guard let raw = context.parameters.get("key"), let key = raw.removingPercentEncoding, !key.isEmpty else {
            throw .badRequest("missing or badly encoded key")
        }
        return key
    }

    private static func consistency(_ request: Request) throws(ControlError) -> KVGateway.Consistency {
        let value = request.query("consistency") ?? "linearizable"
        guard let consistency = KVGateway.Consistency(rawValue: value) else {
            throw .badRequest("consistency must be linearizable or stale")
        }
        return consistency
    }

    /// The node's status and body as they came, plus which node answered.
    private static func relay(_ answer: (NodeID, NodeResponse)) -> Response {
        let (node, response) = answer
        var headers: HTTPFields = [
            .contentType: response.contentType ?? "application/json", .cacheControl: "no-store",
            nodeHeader: node.rawValue,
        ]
        if let retryAfter = response.retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: headers,
            body: ResponseBody(byteBuffer: response.body))
    }
}
