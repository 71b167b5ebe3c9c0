import ClusterAPI
import Foundation
import Launcher
import NIOConcurrencyHelpers
import NIOCore

/// A scripted stand-in for the nodes' HTTP API, driven by the real processes' states: a node
/// answers while its (fake) process runs and is not paused; the running voter with the lowest
/// id leads, unless `/cluster/transfer-leader` named another running voter; `/cluster/remove`
/// drops a member; `/kv`, `/lease` and `/watch` are `FakeKVStore`; `/snapshot` streams
/// `snapshotBytes`.
///
/// It lets the control API be tested end to end without kv-node, while the processes,
/// signals, files and ports involved are real.
final class FakeCluster: NodeAPI, Sendable {
    private struct State {
        var supervisor: Supervisor?
        var removed: Set<String> = []
        var removeCalls: [(port: Int, id: String)] = []
        var requests: [String] = []
        /// Ports that answer 307 to the leader instead of serving, like a follower might.
        var redirecting: Set<Int> = []
        /// Leads while it runs, once a transfer named it.
        var preferredLeader: String?
    }

    static let snapshotBytes = "RKVSNAP\0 a fake snapshot"

    private let state = NIOLockedValueBox(State())
    let store = FakeKVStore()

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
        let preferred = state.withLockedValue { $0.preferredLeader }
        let leader = running.count >= majority
            ? running.first { $0.id.rawValue == preferred } ?? running.sorted { $0.id < $1.id }.first : nil
        return (snapshot, members, leader)
    }

    func status(apiPort: Int) async throws -> NodeStatus {
        let (snapshot, members, leader) = await view()
        guard let node = snapshot.config.nodes.first(where: { $0.apiPort == apiPort }),
            snapshot.record(node.id).state == .running
        else { throw NodeUnreachable("nothing on \(apiPort)") }
        let commit = UInt64(store.revision + 1)
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
        case ("POST", "/cluster/transfer-leader"):
            let target = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])?["to"] ?? ""
            let (snapshot, members, _) = await view()
            guard let member = members.first(where: { $0.id.rawValue == target }) else {
                return json(404, #"{"error":"no member named \#(target)"}"#)
            }
            guard snapshot.record(member.id).state == .running else {
                return json(409, #"{"error":"\#(target) is not caught up with the leader's log (or not answering)"}"#)
            }
            state.withLockedValue { $0.preferredLeader = target }
            return json(200, #"{"leader":"\#(target)","status":"transferred","term":2}"#)
        case ("GET", "/kv"):
            let params = Self.parameters(query)
            return store.list(prefix: params["prefix"] ?? "", after: params["start_after"] ?? "",
                              limit: Int(params["limit"] ?? "") ?? Int.max)
        default:
            guard path.hasPrefix("/kv/") || path.hasPrefix("/lease") else { return json(404, #"{"error":"no route"}"#) }
            // Writes need a leader; so do reads here, as kv-node's linearizable default does.
            guard leader != nil else { return json(503, #"{"error":"no leader"}"#) }
            return store.handle(method: request.method, path: path, query: Self.parameters(query), body: body)
        }
    }

    func openStream(_ request: NodeRequest, apiPort: Int) async throws -> NodeStream {
        let (snapshot, _, _) = await view()
        guard let node = snapshot.config.nodes.first(where: { $0.apiPort == apiPort }),
            snapshot.record(node.id).state == .running
        else { throw NodeUnreachable("nothing on \(apiPort)") }
        state.withLockedValue { $0.requests.append("\(apiPort) \(request.method) \(request.target)") }
        let parts = request.target.split(separator: "?", maxSplits: 1).map(String.init)
        if parts.first == "/snapshot" {
            let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                continuation.yield(ByteBuffer(string: Self.snapshotBytes))
                continuation.finish()
            }
            return NodeStream(status: 200, contentType: "application/octet-stream", storeRevision: "\(store.revision)", body: body)
        }
        guard parts.first == "/watch" else { throw NodeUnreachable("only /watch and /snapshot stream") }
        return store.watch(query: Self.parameters(parts.count > 1 ? parts[1] : ""), headers: request.headers, target: request.target)
    }

    /// A query string's pairs, percent-decoded.
    private static func parameters(_ query: String) -> [String: String] {
        Dictionary(
            query.split(separator: "&").map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts[0].removingPercentEncoding ?? parts[0], (parts.count > 1 ? parts[1] : "").removingPercentEncoding ?? "")
            }, uniquingKeysWith: { a, _ in a })
    }

    private func json(_ status: Int, _ text: String) -> NodeResponse {
        NodeResponse(status: status, body: ByteBuffer(string: text))
    }
}
