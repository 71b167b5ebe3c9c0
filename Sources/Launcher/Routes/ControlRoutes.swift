import Foundation
import Hummingbird

/// `/api/control/...`: the node list, the quorum preview and log tails, and the process and
/// membership actions, registered from one table (`ControlAction.all`).
enum ControlRoutes {
    static func register(on router: Router<some RequestContext>, controller: ClusterController) {
        let group = router.group("api/control")

        group.get("nodes") { _, _ in
            JSONResponse.make(await controller.nodes())
        }
        group.get("nodes/{id}") { _, context in
            await JSONResponse.handle { () async throws(ControlError) in
                JSONResponse.make(try await controller.node(context.parameters.get("id") ?? ""))
            }
        }

        for action in ControlAction.all {
            group.on(RouterPath(action.path), method: action.method) { request, context in
                let body = action.readsBody ? try await request.body.collect(upTo: ControlAction.maxBody) : nil
                let input = ControlAction.Input(id: context.parameters.get("id") ?? "", force: request.forceFlag, body: body)
                return await JSONResponse.handle { () async throws(ControlError) in
                    JSONResponse.make(try await action.perform(input, controller), status: action.status)
                }
            }
        }

        group.get("quorum/{action}/{id}") { _, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let name = context.parameters.get("action") ?? ""
                guard let action = DisruptiveAction(rawValue: name) else {
                    throw .badRequest("unknown action \(name.debugDescription); use stop, kill, pause, restart or delete")
                }
                return JSONResponse.make(try await controller.quorum(action, context.parameters.get("id") ?? ""))
            }
        }

        group.get("logs/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let id = context.parameters.get("id") ?? ""
                let count = request.query("lines").flatMap(Int.init) ?? 200
                return JSONResponse.make(LogLines(id: id, lines: try await controller.logs(id, lines: count)))
            }
        }
    }
}

/// The answer of `GET /api/control/logs/{id}`.
struct LogLines: Encodable {
    var id: String
    var lines: [String]
}

/// The body of `POST /api/control/add`: `{"node_id": "..."}`, where an empty body or a
/// missing `node_id` lets the launcher pick the next nodeN.
enum AddRequest {
    static func nodeID(from body: ByteBuffer) throws(ControlError) -> String? {
        guard body.readableBytes > 0 else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw .badRequest("body must be a JSON object like {\"node_id\":\"node4\"}")
        }
        guard let value = object["node_id"] else { return nil }
        guard let name = value as? String else { throw .badRequest("node_id must be a string") }
        return name
    }
}
