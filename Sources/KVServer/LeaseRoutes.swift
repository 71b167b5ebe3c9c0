import FoundationEssentials
import HTTPTypes
import Hummingbird
import KVStore
import NodeRuntime

/// `/lease`: keys that disappear when their holder stops renewing (Docs/API.md, "Leases").
/// Grants, keepalives and revocations are log entries, forwarded by a follower like any
/// write; only the leader's clock decides when a lease runs out (`LeaseClock`), and the
/// `remaining_seconds` a node answers come from its own clock.
struct LeaseRoutes {
    let runtime: NodeRuntime
    let store: DurableStore

    func register(on router: Router<BasicRequestContext>) {
        router.post("lease") { request, _ in await grant(request) }
        router.get("lease") { request, _ in await list(request) }
        router.post("lease/:id/keepalive") { _, context in await keepAlive(context.parameters.get("id")) }
        router.get("lease/:id") { request, context in await show(context.parameters.get("id"), request) }
        router.delete("lease/:id") { _, context in await revoke(context.parameters.get("id")) }
    }

    private var minimumTTL: Int64 { runtime.config.minimumLeaseSeconds }

    // MARK: Writes

    private func grant(_ request: Request) async -> Response {
        if let failure = ClientAccess.leaseRefusal(ClientContext.identity) { return failure.response }
        let range = "\(minimumTTL)...\(KVCommand.maxLeaseSeconds)"
        let ttl: Int64
        switch await JSONIntegerBody.field("ttl_seconds", of: Int64.self, from: request, meaning: "a whole number of seconds, \(range)") {
        case .success(let value): ttl = value
        case .failure(let failure): return failure.response
        }
        guard ttl >= minimumTTL else {
            return JSON.error(400, "ttl_seconds must be at least \(minimumTTL) (twice the election timeout), not \(ttl)")
        }
        guard ttl <= KVCommand.maxLeaseSeconds else {
            return JSON.error(400, "ttl_seconds must be at most \(KVCommand.maxLeaseSeconds) (one year), not \(ttl)")
        }
        return await submit(.leaseGrant(ttlSeconds: ttl)) { result in
            guard case .lease(let id, let granted) = result.detail else { return nil }
            var json = JSONObjectWriter()
            json.field("id", String(id))
            json.field("revision", result.revision)
            json.field("ttl_seconds", UInt64(clamping: granted))
            return json
        }
    }

    private func keepAlive(_ idText: String?) async -> Response {
        if let failure = ClientAccess.leaseRefusal(ClientContext.identity) { return failure.response }
        let id: UInt64
        switch Self.leaseID(idText) {
        case .success(let value): id = value
        case .failure(let failure): return failure.response
        }
        return await submit(.leaseKeepAlive(id: id)) { result in
            guard case .lease(let id, let ttl) = result.detail else { return nil }
            // The keepalive applied on the leader too: its clock now shows the full TTL.
            var json = JSONObjectWriter()
            json.field("id", String(id))
            json.field("remaining_seconds", UInt64(clamping: ttl))
            json.field("ttl_seconds", UInt64(clamping: ttl))
            return json
        }
    }

    private func revoke(_ idText: String?) async -> Response {
        let id: UInt64
        switch Self.leaseID(idText) {
        case .success(let value): id = value
        case .failure(let failure): return failure.response
        }
        if let identity = ClientContext.identity {
            // Revoking deletes the lease's keys: the caller must be allowed to delete each one.
            do {
                if let failure = ClientAccess.revokeRefusal(identity, keys: try store.stateMachine.leaseKeys(id)) {
                    return failure.response
                }
            } catch {
                return JSON.error(RuntimeError(error))
            }
        }
        return await submit(.leaseRevoke(id: id, expired: false)) { result in
            guard case .deletedKeys(let count) = result.detail else { return nil }
            var json = JSONObjectWriter()
            json.field("deleted", UInt64(count))
            json.field("id", String(id))
            json.field("revision", result.revision)
            json.field("status", "success")
            return json
        }
    }

    /// Proposes `operation` (through the leader) and answers with `body` of its result.
    private func submit(_ operation: KVCommand.Operation,
                        body: @escaping @Sendable (KVResult) -> JSONObjectWriter?) async -> Response {
        let result = await withCheckedContinuation { done in
            runtime.submit(KVCommand(operation), identity: ClientContext.identity?.name) { done.resume(returning: $0) }
        }
        switch result {
        case .success(let applied):
            guard let json = body(applied) else { return JSON.error(500, "the state machine answered without the lease's details") }
            return KVReply(json).response
        case .failure(let error):
            return JSON.error(error)
        }
    }

    // MARK: Reads

    private func show(_ idText: String?, _ request: Request) async -> Response {
        let id: UInt64
        switch Self.leaseID(idText) {
        case .success(let value): id = value
        case .failure(let failure): return failure.response
        }
        guard let consistency = ReadConsistency(query: request.uri.queryParameters["consistency"]) else {
            return ReadConsistency.badValue.response
        }
        if let failure = await KVOperations(runtime: runtime, store: store).barrier(consistency) { return failure.response }
        do {
            guard let lease = try store.stateMachine.lease(id) else { return JSON.error(404, "lease not found: \(id)") }
            var keys = try store.stateMachine.leaseKeys(id)
            // A client sees only the keys it may read.
            if let identity = ClientContext.identity { keys = keys.filter { identity.may(.read, key: $0) } }
            let remaining = await runtime.leaseRemaining([id]).first ?? nil
            return JSON.response(LeaseDocument(lease, remaining: remaining, keys: keys))
        } catch {
            return JSON.error(RuntimeError(error))
        }
    }

    private func list(_ request: Request) async -> Response {
        guard let consistency = ReadConsistency(query: request.uri.queryParameters["consistency"]) else {
            return ReadConsistency.badValue.response
        }
        if let failure = await KVOperations(runtime: runtime, store: store).barrier(consistency) { return failure.response }
        do {
            let leases = try store.stateMachine.leases()
            let remaining = await runtime.leaseRemaining(leases.map(\.id))
            return JSON.response(LeaseList(leases: zip(leases, remaining).map { LeaseDocument($0, remaining: $1, keys: nil) }))
        } catch {
            return JSON.error(RuntimeError(error))
        }
    }

    /// A lease id is the decimal log index of its grant.
    static func leaseID(_ text: String?) -> Result<UInt64, APIFailure> {
        guard let text, !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let id = UInt64(text) else {
            return .failure(APIFailure(400, "a lease id is a decimal number, such as /lease/42"))
        }
        return .success(id)
    }
}

/// One lease as `GET /lease/{id}` and `GET /lease` show it.
struct LeaseDocument: Encodable {
    var id: String
    var ttlSeconds: Int64
    var remainingSeconds: Int64
    var keys: [String]?

    /// `remaining`: this node's clock; none yet (its grant applied a moment ago) counts as the full TTL.
    init(_ lease: LeaseRecord, remaining: Duration?, keys: [String]?) {
        id = String(lease.id)
        ttlSeconds = lease.ttlSeconds
        remainingSeconds = min(lease.ttlSeconds, remaining.map(LeaseDocument.wholeSecondsRoundedUp) ?? lease.ttlSeconds)
        self.keys = keys
    }

    enum CodingKeys: String, CodingKey {
        case id, keys
        case ttlSeconds = "ttl_seconds"
        case remainingSeconds = "remaining_seconds"
    }

    /// A lease with any time left shows at least 1 s; one just renewed shows its full TTL.
    static func wholeSecondsRoundedUp(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}

struct LeaseList: Encodable {
    var leases: [LeaseDocument]
}
