import ClusterAPI

/// Membership and node status (Docs/API.md, "Cluster" and "Operations").
extension KVClient {
    /// The status document of `endpoint` alone (no failover: the question is about that node),
    /// or of whichever endpoint answers when nil.
    public func status(of endpoint: Endpoint? = nil) async throws -> NodeStatus {
        let request = APIRequest(.GET, "/cluster/status")
        guard let endpoint else { return try await call(request, as: NodeStatus.self) }
        return try await decode(NodeStatus.self, from: try await sendOnce(request, to: endpoint))
    }

    /// The health answer of `endpoint` alone, or of whichever endpoint answers when nil.
    public func health(of endpoint: Endpoint? = nil) async throws -> NodeHealth {
        let request = APIRequest(.GET, "/health")
        guard let endpoint else { return try await call(request, as: NodeHealth.self) }
        return try await decode(NodeHealth.self, from: try await sendOnce(request, to: endpoint))
    }

    /// The status of each endpoint, asked at once; an endpoint that fails is reported, not thrown.
    public func statuses(of endpoints: [Endpoint]) async -> [EndpointStatus] {
        await withTaskGroup(of: (Int, EndpointStatus).self) { group in
            for (position, endpoint) in endpoints.enumerated() {
                group.addTask {
                    do {
                        return (position, EndpointStatus(endpoint: endpoint, result: .success(try await self.status(of: endpoint))))
                    } catch {
                        return (position, EndpointStatus(endpoint: endpoint, result: .failure(Self.typed(error, endpoint))))
                    }
                }
            }
            return await Self.inOrder(&group)
        }
    }

    /// The health of each endpoint, asked at once.
    public func healths(of endpoints: [Endpoint]) async -> [EndpointHealth] {
        await withTaskGroup(of: (Int, EndpointHealth).self) { group in
            for (position, endpoint) in endpoints.enumerated() {
                group.addTask {
                    do {
                        return (position, EndpointHealth(endpoint: endpoint, result: .success(try await self.health(of: endpoint))))
                    } catch {
                        return (position, EndpointHealth(endpoint: endpoint, result: .failure(Self.typed(error, endpoint))))
                    }
                }
            }
            return await Self.inOrder(&group)
        }
    }

    /// Every member's API address from the cluster's configuration, as endpoints with this
    /// client's scheme: what `--cluster` asks.
    public func memberEndpoints() async throws -> [Endpoint] {
        let scheme: Endpoint.Scheme = configuration.tls == nil ? .http : .https
        var endpoints: [Endpoint] = []
        for member in try await members() {
            guard let address = member.apiAddress else { continue }
            endpoints.append(try Endpoint(parsing: address, defaultScheme: scheme))
        }
        return endpoints
    }

    /// The members of the cluster, as the answering node knows them.
    public func members() async throws -> [MemberStatus] {
        try await status().members
    }

    /// Adds a node as a learner (the leader promotes it once it caught up). Returns the
    /// membership after the change when the node lists it.
    @discardableResult
    public func addMember(id: String, raftAddress: String, apiAddress: String) async throws -> [MemberStatus] {
        let body = try APIRequest.json(["id": id, "raft_addr": raftAddress, "api_addr": apiAddress])
        return try await call(APIRequest(.POST, "/cluster/join", body: body), as: JoinAnswer.self).members ?? []
    }

    /// Removes a member (the leader may remove itself; it then steps down).
    public func removeMember(id: String) async throws {
        _ = try await call(APIRequest(.POST, "/cluster/remove", body: try APIRequest.json(["id": id])), as: [String: String].self)
    }

    /// Makes `id` the leader; returns once it leads.
    ///
    /// - Throws: ``KVClientError/notFound(_:)`` for no such member,
    ///   ``KVClientError/conflict(_:)`` for a learner or a member that lags.
    @discardableResult
    public func moveLeader(to id: String) async throws -> LeaderTransfer {
        try await call(APIRequest(.POST, "/cluster/transfer-leader", body: try APIRequest.json(["to": id])), as: LeaderTransfer.self)
    }

    /// One attempt on `endpoint` (redirects followed), no failover.
    func sendOnce(_ request: APIRequest, to endpoint: Endpoint) async throws -> APIResponse {
        do {
            return try await attempt(request, on: endpoint)
        } catch let error as KVClientError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw KVClientError.unreachable(endpoints: [endpoint.description], underlying: error)
        }
    }

    private static func typed(_ error: any Error, _ endpoint: Endpoint) -> KVClientError {
        error as? KVClientError ?? .unreachable(endpoints: [endpoint.description], underlying: error)
    }

    private static func inOrder<T>(_ group: inout TaskGroup<(Int, T)>) async -> [T] {
        var results: [(Int, T)] = []
        while let result = await group.next() { results.append(result) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
