import Foundation
import Hummingbird
import KVStore
import NodeRuntime
import RaftCore

/// `/cluster/*`: status, join and remove. Membership changes must be made by the leader;
/// any other node answers 307 with the leader's address.
struct ClusterRoutes {
    let runtime: NodeRuntime

    func register(on router: Router<BasicRequestContext>) {
        router.get("cluster/status") { _, _ in JSON.response(StatusBody(await runtime.status())) }
        router.post("cluster/join") { request, _ in await join(request) }
        router.post("cluster/remove") { request, _ in await remove(request) }
    }

    static let idPattern = try! NSRegularExpression(pattern: "^[A-Za-z0-9_-]{1,64}$")

    static func validID(_ text: String) -> Bool {
        idPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// The JSON body of a membership request and its valid `"id"`, or the 400 to answer.
    private func member(of request: Request) async -> Result<(id: String, body: [String: Any]), APIFailure> {
        let object: [String: Any]
        switch await JSON.object(from: request, limit: 64 << 10) {
        case .success(let o): object = o
        case .failure(let failure): return .failure(failure)
        }
        guard let id = object["id"] as? String, Self.validID(id) else {
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
        if let redirect = await redirectToLeader(path: "/cluster/join") { return redirect }
        do {
            let members = try await runtime.join(id: NodeID(id), address: MemberAddress(raft: raft, api: api))
            return JSON.response(JoinBody(status: "joined", members: members.map(MemberBody.init)))
        } catch {
            return JSON.error(error)
        }
    }

    private func remove(_ request: Request) async -> Response {
        let id: String
        switch await member(of: request) {
        case .success(let parsed): id = parsed.id
        case .failure(let failure): return failure.response
        }
        if let redirect = await redirectToLeader(path: "/cluster/remove") { return redirect }
        do {
            try await runtime.remove(id: NodeID(id))
            return JSON.response(["status": "removed", "id": id])
        } catch {
            return JSON.error(error)
        }
    }

    /// 307 to the leader (the client repeats the POST there), or 503 when none is known.
    private func redirectToLeader(path: String) async -> Response? {
        if await runtime.isLeader { return nil }
        guard let leader = await runtime.leaderAddress else {
            return JSON.error(503, "no leader is known; retry shortly")
        }
        var headers: HTTPFields = [:]
        headers[.location] = "http://\(leader.api)\(path)"
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

struct JoinBody: Encodable {
    var status: String
    var members: [MemberBody]
}

/// The `GET /cluster/status` document (field names are the API contract).
struct StatusBody: Encodable {
    struct Member: Encodable {
        var id: String
        var raft_addr: String?
        var api_addr: String?
        var voter: Bool
        var match_index: UInt64?
        var lag: UInt64?
        var last_contact_ms: Int?
    }

    var id: String
    var role: String
    var term: UInt64
    var leader: String?
    var leader_api_addr: String?
    var commit_index: UInt64
    var applied_index: UInt64
    var last_index: UInt64
    var first_index: UInt64
    var is_member: Bool
    var members: [Member]

    init(_ status: ClusterStatus) {
        id = status.id.rawValue
        role = status.role.rawValue
        term = status.term
        leader = status.leader?.rawValue
        leader_api_addr = status.leaderAddress?.api.description
        commit_index = status.commitIndex
        applied_index = status.appliedIndex
        last_index = status.lastIndex
        first_index = status.firstIndex
        is_member = status.isMember
        members = status.members.map {
            Member(id: $0.id.rawValue, raft_addr: $0.address?.raft.description, api_addr: $0.address?.api.description,
                   voter: $0.isVoter, match_index: $0.matchIndex, lag: $0.lag, last_contact_ms: $0.lastContactMilliseconds)
        }
    }

    // Optional fields are written as null rather than left out, so clients see every key.
    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey {
            case id, role, term, leader, leader_api_addr, commit_index, applied_index, last_index, first_index, is_member, members
        }
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(role, forKey: .role)
        try c.encode(term, forKey: .term)
        try c.encode(leader, forKey: .leader)
        try c.encode(leader_api_addr, forKey: .leader_api_addr)
        try c.encode(commit_index, forKey: .commit_index)
        try c.encode(applied_index, forKey: .applied_index)
        try c.encode(last_index, forKey: .last_index)
        try c.encode(first_index, forKey: .first_index)
        try c.encode(is_member, forKey: .is_member)
        try c.encode(members, forKey: .members)
    }
}
