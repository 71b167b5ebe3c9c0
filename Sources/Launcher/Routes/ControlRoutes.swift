import Foundation
import Hummingbird

/// `/api/control/...`: the process and membership actions of DESIGN.md, plus kill, pause,
/// resume, restart, a quorum preview and log tails.
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

        group.post("add") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            return await JSONResponse.handle { () async throws(ControlError) in
                let name = try AddRequest.nodeID(from: body)
                let view = try await controller.add(name)
                return JSONResponse.make(
                    ActionResult(message: "\(view.id) added on API port \(view.apiPort); it joins through the leader", node: view),
                    status: .created)
            }
        }

        group.post("start/{id}") { _, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let view = try await controller.start(context.parameters.get("id") ?? "")
                return JSONResponse.make(ActionResult(message: "\(view.id) started (pid \(view.pid ?? 0))", node: view))
            }
        }
        group.post("stop/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let (view, stopped) = try await controller.stop(context.parameters.get("id") ?? "", force: request.forceFlag)
                let message = stopped ? "\(view.id) stopped" : "\(view.id) was not running"
                return JSONResponse.make(ActionResult(message: message, node: view))
            }
        }
        group.post("restart/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let view = try await controller.restart(context.parameters.get("id") ?? "", force: request.forceFlag)
                return JSONResponse.make(ActionResult(message: "\(view.id) restarted (pid \(view.pid ?? 0))", node: view))
            }
        }
        group.post("kill/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let view = try await controller.kill(context.parameters.get("id") ?? "", force: request.forceFlag)
                return JSONResponse.make(ActionResult(message: "\(view.id) killed with SIGKILL", node: view))
            }
        }
        group.post("pause/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let view = try await controller.pause(context.parameters.get("id") ?? "", force: request.forceFlag)
                return JSONResponse.make(ActionResult(message: "\(view.id) paused with SIGSTOP", node: view))
            }
        }
        group.post("resume/{id}") { _, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let view = try await controller.resume(context.parameters.get("id") ?? "")
                return JSONResponse.make(ActionResult(message: "\(view.id) resumed with SIGCONT", node: view))
            }
        }
        group.post("delete/{id}") { request, context in
            await JSONResponse.handle { () async throws(ControlError) in
                let id = context.parameters.get("id") ?? ""
                try await controller.delete(id, force: request.forceFlag)
                return JSONResponse.make(
                    ActionResult(message: "\(id) removed from the cluster, stopped, and its data directory deleted"))
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
