import ClusterAPI
import Foundation
import Launcher
import NIOConcurrencyHelpers
import NIOCore

/// A scripted stand-in for the nodes' HTTP API, driven by the real processes' states: a node
/// answers while its (fake) process runs and is not paused; the running voter with the lowest
/// id leads; `/cluster/remove` drops a member; `/kv` is an in-memory map with revisions.
///
/// It lets the control API be tested end to end without kv-node, while the processes,
/// signals, files and ports involved are real.
final class FakeCluster: NodeAPI, Sendable {
    private struct State {
        var supervisor: Supervisor?
        var removed: Set<String> = []
        var removeCalls: [(port: Int, id: String)] = []
        var kv: [String: (value: String, revision: Int)] = [:]
        var revision = 0
        var requests: [String] = []
        /// Ports that answer 307 to the leader instead of serving, like a follower might.
        var redirecting: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())

    func attach(_ supervisor: Supervisor) {
        state.withLockedValue { $0.supervisor = supervisor }
    }

    var removeCalls: [(port: Int, id: String)] { state.withLockedValue { $0.removeCalls } }
    var requests: [String] { state.withLockedValue { $0.requests } }
    func redirect(port: Int) { state.withLockedValue { _ = $0.redirecting.insert(port) } }

    private func view() async -> (SupervisorSnapshot, [NodeConfig], NodeConfig?) {
        guard let supervisor = state.withLockedValue({ $0.supervisor }) else { fatalError("attach a supervisor") }
        let snapshot = await supervisor.snapshot()
        let removed = state.withLockedValue { $0.removed }
        let members = snapshot.config.nodes.filter { !removed.contains($0.id.rawValue) }
        let running = members.filter { snapshot.record($0.id).state == .running }
        let majority = members.count / 2 + 1
        let leader = running.count >= majority ? running.sorted { $0.id < $1.id }.first : nil
        return (snapshot, members, leader)
    }

    func status(apiPort: Int) async throws -> NodeStatus {
        let (snapshot, members, leader) = await view()
        guard let node = snapshot.config.nodes.first(where: { $0.apiPort == apiPort }),
            snapshot.record(node.id).state == .running
        else { throw NodeUnreachable("nothing on \(apiPort)") }
        let commit = UInt64(state.withLockedValue { $0.revision } + 1)
        return NodeStatus(
            id: node.id.rawValue, role: leader?.id == node.id ? "leader" : "follower", term: 1,
            leader: leader?.id.rawValue, leaderAPIAddress: leader.map { "127.0.0.1:\($0.apiPort)" },
            commitIndex: commit, appliedIndex: commit, lastIndex: commit, firstIndex: 1, isMember: true,
            members: leader?.id == node.id
                ? members.map {
                    MemberStatus(id: $0.id.rawValue, voter: true, matchIndex: commit, lag: 0, lastContactMilliseconds: 5)
                } : [])
    }

    func send(_ request: NodeRequest, apiPort: Int) async throws -> NodeResponse {
        let (_, _, leader) = await view()
        state.withLockedValue { $0.requests.append("\(apiPort) \(request.method) \(request.target)") }
        if state.withLockedValue({ $0.redirecting.contains(apiPort) }), let leader, leader.apiPort != apiPort {
            return try await send(request, apiPort: leader.apiPort)
        }
        let body = request.body.map { String(buffer: $0) } ?? ""
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let query = request.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        switch (request.method, path) {
        case ("POST", "/cluster/remove"):
            let id = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])?["id"] ?? ""
            state.withLockedValue {
                $0.removeCalls.append((apiPort, id))
                $0.removed.insert(id)
            }
            return json(200, #"{"status":"success"}"#)
        case ("GET", "/kv"):
            let params = Dictionary(
                query.split(separator: "&").map { pair -> (String, String) in
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    return (parts[0], (parts.count > 1 ? parts[1] : "").removingPercentEncoding ?? "")
                }, uniquingKeysWith: { a, _ in a })
            let prefix = params["prefix"] ?? ""
            let after = params["start_after"] ?? ""
            let limit = Int(params["limit"] ?? "") ?? Int.max
            let pairs = state.withLockedValue { $0.kv }
                .filter { $0.key.hasPrefix(prefix) && (after.isEmpty || $0.key > after) }
                .sorted { $0.key < $1.key }.prefix(limit)
            let object = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value.value) })
            let data = try JSONSerialization.data(withJSONObject: object)
            return json(200, String(decoding: data, as: UTF8.self))
        default:
            guard path.hasPrefix("/kv/"), let key = String(path.dropFirst(4)).removingPercentEncoding else {
                return json(404, #"{"error":"no route"}"#)
            }
            return handleKey(request.method, key: key, body: body, hasLeader: leader != nil)
        }
    }

    private func handleKey(_ method: String, key: String, body: String, hasLeader: Bool) -> NodeResponse {
        guard hasLeader else { return json(503, #"{"error":"no leader"}"#) }
        switch method {
        case "PUT":
            guard let value = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["value"] as? String
            else { return json(400, #"{"error":"no value"}"#) }
            let revision = state.withLockedValue { state in
                state.revision += 1
                state.kv[key] = (value, state.revision)
                return state.revision
            }
            return encoded(200, ["status": "success", "key": key, "revision": revision])
        case "DELETE":
            let deleted = state.withLockedValue { $0.kv.removeValue(forKey: key) != nil }
            return encoded(200, ["status": "success", "deleted": deleted])
        default:
            guard let entry = state.withLockedValue({ $0.kv[key] }) else { return json(404, #"{"error":"not found"}"#) }
            return encoded(200, ["key": key, "value": entry.value, "revision": entry.revision])
        }
    }

    private func json(_ status: Int, _ text: String) -> NodeResponse {
        NodeResponse(status: status, body: ByteBuffer(string: text))
    }

    private func encoded(_ status: Int, _ object: [String: Any]) -> NodeResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return NodeResponse(status: status, body: ByteBuffer(bytes: data))
    }
}
