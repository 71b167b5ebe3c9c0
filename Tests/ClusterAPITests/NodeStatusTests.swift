import ClusterAPI
import Foundation
import Testing

/// The `/cluster/status` document's wire form (Docs/API.md) and the lenient reading the
/// launcher relies on when a node of another version answers.
@Suite struct NodeStatusTests {
    /// kv-node's encoder settings (KVServer's `JSON.encoder`).
    private func encoded(_ status: NodeStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(status), as: UTF8.self)
    }

    @Test func unknownFieldsAreWrittenAsNull() throws {
        let status = NodeStatus(
            id: "node2", role: "follower", term: 3, leader: nil, commitIndex: 42, appliedIndex: 41,
            lastIndex: 43, firstIndex: 1, isMember: true,
            members: [MemberStatus(id: "node1", raftAddress: "127.0.0.1:9001", apiAddress: "127.0.0.1:9000", voter: false)])
        #expect(try encoded(status) == #"""
            {"applied_index":41,"commit_index":42,"db_size_bytes":null,"first_index":1,"id":"node2","is_member":true,"last_index":43,\#
            "leader":null,"leader_api_addr":null,"members":[{"api_addr":"127.0.0.1:9000","id":"node1",\#
            "lag":null,"last_contact_ms":null,"match_index":null,"raft_addr":"127.0.0.1:9001","voter":false}],\#
            "role":"follower","term":3}
            """#)
    }

    @Test func aLeadersDocumentRoundTrips() throws {
        let status = NodeStatus(
            id: "node1", role: "leader", term: UInt64.max, leader: "node1", leaderAPIAddress: "127.0.0.1:9000",
            commitIndex: 42, appliedIndex: 42, lastIndex: 42, firstIndex: 7, isMember: true,
            members: [
                MemberStatus(id: "node1", raftAddress: "127.0.0.1:9001", apiAddress: "127.0.0.1:9000", voter: true,
                             matchIndex: 42, lag: 0, lastContactMilliseconds: 0),
                MemberStatus(id: "node4", voter: false, matchIndex: 12, lag: 30, lastContactMilliseconds: 250),
            ],
            dbSizeBytes: 1 << 40)
        let decoded = try JSONDecoder().decode(NodeStatus.self, from: Data(try encoded(status).utf8))
        #expect(decoded == status)
        #expect(decoded.isLeader)
    }

    @Test func missingFieldsTakeDefaults() throws {
        let status = try JSONDecoder().decode(NodeStatus.self, from: Data("{}".utf8))
        #expect(status == NodeStatus(id: "", role: "unknown", term: 0, leader: nil, commitIndex: 0, appliedIndex: 0))
        #expect(!status.isMember && status.members.isEmpty && !status.isLeader)
    }

    @Test func roleIsLowercasedAndAnEmptyLeaderIsNone() throws {
        let json = #"{"id":"n1","role":"Leader","term":2,"leader":"","leader_api_addr":"","commit_index":5,"#
            + #""applied_index":5,"extra":"ignored","members":[{"id":"n1"}]}"#
        let status = try JSONDecoder().decode(NodeStatus.self, from: Data(json.utf8))
        #expect(status.role == "leader" && status.isLeader)
        #expect(status.leader == nil && status.leaderAPIAddress == nil)
        #expect(status.commitIndex == 5 && status.term == 2)
        // A member that does not say whether it votes counts as a voter.
        #expect(status.members == [MemberStatus(id: "n1", voter: true)])
    }

    @Test func aMemberWithoutAnIDIsRefused() {
        let json = #"{"id":"n1","members":[{"voter":true}]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(NodeStatus.self, from: Data(json.utf8)) }
    }
}
