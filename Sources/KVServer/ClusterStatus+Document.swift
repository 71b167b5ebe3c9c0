import ClusterAPI
import NodeRuntime

extension NodeStatus {
    /// The runtime's status as the `GET /cluster/status` document (Docs/API.md).
    init(_ status: ClusterStatus) {
        self.init(
            id: status.id.rawValue, role: status.role.rawValue, term: status.term,
            leader: status.leader?.rawValue, leaderAPIAddress: status.leaderAddress?.api.description,
            commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
            lastIndex: status.lastIndex, firstIndex: status.firstIndex, isMember: status.isMember,
            members: status.members.map {
                MemberStatus(
                    id: $0.id.rawValue, raftAddress: $0.address?.raft.description,
                    apiAddress: $0.address?.api.description, voter: $0.isVoter, matchIndex: $0.matchIndex,
                    lag: $0.lag, lastContactMilliseconds: $0.lastContactMilliseconds)
            },
            dbSizeBytes: status.databaseBytes)
    }
}
