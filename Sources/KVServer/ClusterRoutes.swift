import ClusterAPI
import FoundationEssentials
import Hummingbird
import KVStore
import NodeRuntime
import RaftCore

/// `/cluster/*`: status, join and remove. Membership changes must be made by the leader;
/// any other node answers 307 with the leader's address.
struct ClusterRoutes {
    let runtime: NodeRuntime
    /// Of the redirect to the leader: every node of a cluster serves its API the same way.
    var scheme = "http"

    func register(on router: Router<BasicRequestContext>) {
        router.get("cluster/status") { _, _ in JSON.response(NodeStatus(await runtime.status())) }
        router.post("cluster/join") { request, _ in await join(request) }
        router.post("cluster/remove") { request, _ in await remove(request) }
        router.post("cluster/transfer-leader") { request, _ in await transferLeader(request) }
    }

    /// The JSON body of a membership request and its valid `"id"`, or the 400 to answer.
    private func member(of request: Request) async -> Result<(id: String, body: [String: Any]), APIFailure> {
        let object: [String: Any]
        switch await JSON.object(from: request, limit: 64 << 10) {
        case .success(let o): object = o
        case .failure(let failure): return .failure(failure)
        }
        guard let id = object["id"] as? String, MemberIDSyntax.isValid(id) else {
            return .failure(APIFailure(400, "\"id\" must match ^[A-Za-z0-9_-]{1,64}$"))
        }
        return .success((id, object))
    }

    private func join(_ request: Request) async -> Response {
        let id: String, object: [String: Any]
        switch await member(of: request) {
        case .success(let parsed): (id, object) = parsed
        case .failure(let failure): return failure.response
        }
        guard let raft = (object["raft_addr"] as? String).flatMap(HostPort.init(parsing:)),
              let api = (object["api_addr"] as? String).flatMap(HostPort.init(parsing:)) else {
            return JSON.error(400, "\"raft_addr\" and \"api_addr\" must be HOST:PORT")
        }
        do {
            let members = try await runtime.join(id: NodeID(id), address: MemberAddress(raft: raft, api: api))
            return JSON.response(JoinBody(status: "joined", members: members.map(MemberBody.init)))
        } catch {
            return answer(error, path: "/cluster/join")
        }
    }

    private func remove(_ request: Request) async -> Response {
        let id: String
        switch await member(of: request) {
        case .success(let parsed): id = parsed.id
        case .failure(let failure): return failure.response
        }
        do {
            try await runtime.remove(id: NodeID(id))
            return JSON.response(["status": "removed", "id": id])
        } catch {
            return answer(error, path: "/cluster/remove")
        }
    }

    /// `{"to":"node2"}`: answers once node2 leads (Docs/API.md, "Cluster").
    private func transferLeader(_ request: Request) async -> Response {
        let object: [String: Any]
        switch await JSON.object(from: request, limit: 64 << 10) {
        case .success(let o): object = o
        case .failure(let failure): return failure.response
        }
        guard let target = object["to"] as? String, MemberIDSyntax.isValid(target) else {
            return JSON.error(400, "\"to\" must be a member id matching ^[A-Za-z0-9_-]{1,64}$")
        }
        if let extra = object.keys.first(where: { $0 != "to" }) {
            return JSON.error(400, "unknown field \"\(extra)\"; the body is {\"to\": \"<member id>\"}")
        }
        do {
            let term = try await runtime.transferLeadership(to: NodeID(target))
            return JSON.response(TransferBody(status: "transferred", leader: target, term: term))
        } catch {
            return answer(error, path: "/cluster/transfer-leader")
        }
    }

    /// A membership change made on a follower is answered 307 to the leader (the client
    /// repeats the POST there), or 503 when no leader is known; other failures as usual.
    private func answer(_ error: RuntimeError, path: String) -> Response {
        guard case .notLeader(_, let leader) = error else { return JSON.error(error) }
        guard let leader else { return JSON.error(503, "no leader is known; retry shortly") }
        var headers: HTTPFields = [:]
        headers[.location] = "\(scheme)://\(leader.api)\(path)"
        return JSON.response(["error": "not the leader", "leader_api_addr": leader.api.description],
                             status: .temporaryRedirect, headers: headers)
    }
}

struct MemberBody: Encodable {
    var id: String
    var raft_addr: String
    var api_addr: String
    init(_ member: NodeRuntime.MemberInfo) {
        id = member.id.rawValue
        raft_addr = member.address.raft.description
        api_addr = member.address.api.description
    }
}

struct TransferBody: Encodable {
    var status: String
    var leader: String
    var term: UInt64
}

struct JoinBody: Encodable {
    var status: String
    var members: [MemberBody]
}
