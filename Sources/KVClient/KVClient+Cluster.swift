import ClusterAPI

/// Membership and node status (Docs/API.md, "Cluster" and "Operations").
extension KVClient {
    /// The status document of `endpoint` alone (no failover: the question is about that node),
    /// or of whichever endpoint answers when nil.
    public func status(of endpoint: Endpoint? = nil) async throws -> NodeStatus {
        try await exchange(.read("/cluster/status"), on: endpoint) { try await self.decode(NodeStatus.self, from: $0) }
    }

    /// The health answer of `endpoint` alone, or of whichever endpoint answers when nil.
    public func health(of endpoint: Endpoint? = nil) async throws -> NodeHealth {
        try await exchange(.read("/health"), on: endpoint) { try await self.decode(NodeHealth.self, from: $0) }
    }

    /// The status of each endpoint, asked at once; an endpoint that fails is reported, not thrown.
    public func statuses(of endpoints: [Endpoint]) async -> [EndpointStatus] {
        await askEach(endpoints) { try await self.status(of: $0) }.map { EndpointStatus(endpoint: $0.0, result: $0.1) }
    }

    /// The health of each endpoint, asked at once.
    public func healths(of endpoints: [Endpoint]) async -> [EndpointHealth] {
        await askEach(endpoints) { try await self.health(of: $0) }.map { EndpointHealth(endpoint: $0.0, result: $0.1) }
    }

    /// Every member's API address from the cluster's configuration, as endpoints with this
    /// client's scheme: what `--cluster` asks. An address that is not a plain `host:port`
    /// (a scheme would let the server choose plain HTTP) is left out and reported.
    public func memberEndpoints() async throws -> MemberEndpoints {
        let scheme: Endpoint.Scheme = configuration.tls == nil ? .http : .https
        var found = MemberEndpoints(endpoints: [], malformed: [])
        for member in try await members() {
            guard let address = member.apiAddress else { continue }
            do {
                found.endpoints.append(try Endpoint(address: address, scheme: scheme))
            } catch {
                found.malformed.append(.invalidResponse("member \(member.id.prefix(100)) has a malformed API address: \(error)"))
            }
        }
        return found
    }

    /// The members of the cluster, as the answering node knows them.
    public func members() async throws -> [MemberStatus] {
        try await status().members
    }

    /// Adds a node as a learner (the leader promotes it once it caught up). Returns the
    /// membership after the change when the node lists it. Not retried once sent.
    @discardableResult
    public func addMember(id: String, raftAddress: String, apiAddress: String) async throws -> [MemberStatus] {
        let body = try APIRequest.json(["id": id, "raft_addr": raftAddress, "api_addr": apiAddress])
        return try await call(.unrepeatable(.POST, "/cluster/join", body: body), as: JoinAnswer.self).members ?? []
    }

    /// Removes a member (the leader may remove itself; it then steps down). Not retried once sent.
    public func removeMember(id: String) async throws {
        _ = try await call(.unrepeatable(.POST, "/cluster/remove", body: try APIRequest.json(["id": id])), as: [String: String].self)
    }

    /// Makes `id` the leader; returns once it leads. Not retried once sent.
    ///
    /// - Throws: ``KVClientError/notFound(_:)`` for no such member,
    ///   ``KVClientError/conflict(_:)`` for a learner or a member that lags.
    @discardableResult
    public func moveLeader(to id: String) async throws -> LeaderTransfer {
        try await call(.unrepeatable(.POST, "/cluster/transfer-leader", body: try APIRequest.json(["to": id])), as: LeaderTransfer.self)
    }

    /// Asks every endpoint at once; the answers in the endpoints' order, each a value or the
    /// ``KVClientError`` it failed with.
    private func askEach<T: Sendable>(_ endpoints: [Endpoint], _ question: @escaping @Sendable (Endpoint) async throws -> T)
        async -> [(Endpoint, Result<T, KVClientError>)] {
        await withTaskGroup(of: (Int, Result<T, KVClientError>).self) { group in
            for (position, endpoint) in endpoints.enumerated() {
                group.addTask {
                    do {
                        return (position, .success(try await question(endpoint)))
                    } catch {
                        let reported = TransportFailure.reported(error, endpoint: endpoint)
                        return (position, .failure(reported as? KVClientError
                            ?? .unreachable(endpoints: [endpoint.description], underlying: reported)))
                    }
                }
            }
            var answers: [(Int, Result<T, KVClientError>)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map { (endpoints[$0.0], $0.1) }
        }
    }
}
