import Foundation
import HTTPTypes
import Hummingbird

/// `/api/kv...` and `/api/lease...`: the dashboard's data explorer, forwarded to a node
/// (`?node=node2`, default the leader) with the chosen read consistency (`?consistency=stale`,
/// default linearizable). The watch stream is `WatchRoutes`.
enum KVRoutes {
    static let nodeHeader = HTTPField.Name("X-KV-Node")!
    static let revisionHeader = HTTPField.Name("X-KV-Revision")!

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
                relay(try await gateway.put(
                    key: try key(context), body: body, node: request.query("node"),
                    lease: request.query("lease"), ifRevision: request.query("if_revision")))
            }
        }
        router.delete("api/kv/{key}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                relay(try await gateway.delete(key: try key(context), node: request.query("node"),
                                               ifRevision: request.query("if_revision")))
            }
        }
        router.get("api/lease") { request, _ in
            await JSONResponse.handle { () async throws(ControlError) in
                relay(try await gateway.leases(node: request.query("node")))
            }
        }
        router.get("api/lease/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                relay(try await gateway.lease(context.parameters.get("id") ?? "", node: request.query("node")))
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

    static func consistency(_ request: Request) throws(ControlError) -> KVGateway.Consistency {
        let value = request.query("consistency") ?? "linearizable"
        guard let consistency = KVGateway.Consistency(rawValue: value) else {
            throw .badRequest("consistency must be linearizable or stale")
        }
        return consistency
    }

    /// The node's status and body as they came, plus which node answered.
    static func relay(_ answer: (NodeID, NodeResponse)) -> Response {
        let (node, response) = answer
        var headers: HTTPFields = [
            .contentType: response.contentType ?? "application/json", .cacheControl: "no-store",
            nodeHeader: node.rawValue,
        ]
        if let retryAfter = response.retryAfter { headers[.retryAfter] = retryAfter }
        if let revision = response.storeRevision { headers[revisionHeader] = revision }
        if let etag = response.etag { headers[.eTag] = etag }
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: headers,
            body: ResponseBody(byteBuffer: response.body))
    }
}
