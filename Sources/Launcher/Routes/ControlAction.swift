import Hummingbird

/// One row of the control API's action table: `method /api/control/path` runs `perform` and
/// answers `status` with its `ActionResult`; a `ControlError` answers with its own status and
/// shape (`JSONResponse.error`). Adding an action is adding a row to `all` (Docs/LAUNCHER.md
/// lists them). Package-visible so the access tests cover every row, new ones included.
package struct ControlAction: Sendable {
    /// What an action takes from its request.
    struct Input: Sendable {
        /// The `{id}` path parameter; empty when the path has none.
        var id: String
        /// `?force=true`: act even though quorum would be lost. Actions that cannot lose it ignore it.
        var force: Bool
        /// The request body, collected only for rows that read one.
        var body: ByteBuffer?
    }

    typealias Perform = @Sendable (Input, ClusterController) async throws(ControlError) -> ActionResult

    package var method: HTTPRequest.Method
    package var path: String
    var status: HTTPResponse.Status
    /// Bodies are collected (up to `maxBody`) only where one means something, so a stray body
    /// on another action is ignored, not limited.
    var readsBody = false
    var perform: Perform

    static let maxBody = 64 * 1024
}

extension ControlAction {
    package static let all: [ControlAction] = [
        ControlAction(method: .post, path: "add", status: .created, readsBody: true) { input, controller throws(ControlError) in
            let view = try await controller.add(try AddRequest.nodeID(from: input.body ?? ByteBuffer()))
            return ActionResult(message: "\(view.id) added on API port \(view.apiPort); it joins through the leader", node: view)
        },
        ControlAction(method: .post, path: "start/{id}", status: .ok) { input, controller throws(ControlError) in
            let view = try await controller.start(input.id)
            return ActionResult(message: "\(view.id) started (pid \(view.pid ?? 0))", node: view)
        },
        ControlAction(method: .post, path: "stop/{id}", status: .ok) { input, controller throws(ControlError) in
            let (view, stopped) = try await controller.stop(input.id, force: input.force)
            return ActionResult(message: stopped ? "\(view.id) stopped" : "\(view.id) was not running", node: view)
        },
        ControlAction(method: .post, path: "restart/{id}", status: .ok) { input, controller throws(ControlError) in
            let view = try await controller.restart(input.id, force: input.force)
            return ActionResult(message: "\(view.id) restarted (pid \(view.pid ?? 0))", node: view)
        },
        ControlAction(method: .post, path: "kill/{id}", status: .ok) { input, controller throws(ControlError) in
            let view = try await controller.kill(input.id, force: input.force)
            return ActionResult(message: "\(view.id) killed with SIGKILL", node: view)
        },
        ControlAction(method: .post, path: "pause/{id}", status: .ok) { input, controller throws(ControlError) in
            let view = try await controller.pause(input.id, force: input.force)
            return ActionResult(message: "\(view.id) paused with SIGSTOP", node: view)
        },
        ControlAction(method: .post, path: "resume/{id}", status: .ok) { input, controller throws(ControlError) in
            let view = try await controller.resume(input.id)
            return ActionResult(message: "\(view.id) resumed with SIGCONT", node: view)
        },
        ControlAction(method: .post, path: "transfer-leader/{id}", status: .ok) { input, controller throws(ControlError) in
            let (view, term) = try await controller.transferLeader(to: input.id)
            return ActionResult(message: "\(view.id) now leads the cluster (term \(term))", node: view)
        },
        ControlAction(method: .post, path: "delete/{id}", status: .ok) { input, controller throws(ControlError) in
            try await controller.delete(input.id, force: input.force)
            return ActionResult(message: "\(input.id) removed from the cluster, stopped, and its data directory deleted")
        },
    ]
}
